"""Data loading: CIFAR archives (on tiny archives written here), npz, synthetic, batching."""

from __future__ import annotations

import hashlib
import io
import pickle
import struct
import tarfile
import types
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import torch

from benchmark.data import DATASET_CHOICES, cifar, load_dataset
from benchmark.data.cifar import CIFAR10, CIFAR100, CifarArchive, load_cifar
from benchmark.data.loader import PAD, DeviceLoader, epoch_plan
from benchmark.data.synthetic import load_synthetic
from benchmark.errors import UserError

REAL_SUBSET = Path(__file__).resolve().parents[2] / "shared/data/cifar10_subset.npz"

# ---------------------------------------------------------------- tiny CIFAR archives


class _Py2Pickler(pickle._Pickler):  # type: ignore[name-defined]
    """Writes pickles the way Python 2 cPickle wrote the official batches.

    Strings and bytes become Python 2 `str` opcodes (read back as bytes with
    encoding="bytes") and numpy's array reconstructor is named `numpy.core.multiarray`,
    so the tests exercise exactly what the real archives contain.
    """

    dispatch: ClassVar[dict] = dict(pickle._Pickler.dispatch)  # type: ignore[attr-defined]

    def save_bytes(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    def save_str(self, obj: str) -> None:
        self.save_bytes(obj.encode("ascii"))

    def save_global(self, obj: object, name: str | None = None) -> None:
        module = {"numpy._core.multiarray": "numpy.core.multiarray"}.get(
            obj.__module__, obj.__module__
        )
        self.write(pickle.GLOBAL + f"{module}\n{name or obj.__qualname__}\n".encode())
        self.memoize(obj)

    dispatch[bytes] = save_bytes
    dispatch[str] = save_str
    dispatch[type] = save_global
    dispatch[types.FunctionType] = save_global
    dispatch[types.BuiltinFunctionType] = save_global


def _py2_pickle(obj: object) -> bytes:
    buffer = io.BytesIO()
    _Py2Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue()


def _batch(rng: np.random.Generator, count: int, label_key: bytes, classes: int) -> dict:
    batch = {
        b"batch_label": b"tiny batch",
        b"data": rng.integers(0, 256, size=(count, 3072), dtype=np.uint8),
        label_key: [int(v) for v in rng.integers(0, classes, size=count)],
        b"filenames": [f"img_{i}.png".encode() for i in range(count)],
    }
    if label_key == b"fine_labels":
        batch[b"coarse_labels"] = [v // 5 for v in batch[label_key]]
    return batch


def _write_archive(path: Path, members: dict[str, bytes]) -> str:
    """Write a .tar.gz holding `members`; return its md5."""
    with tarfile.open(path, "w:gz") as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return hashlib.md5(path.read_bytes()).hexdigest()


def _tiny_cifar(
    archive: CifarArchive, directory: Path, per_batch: int = 20
) -> tuple[str, dict[str, dict]]:
    """A tiny archive in the official layout at the official file name."""
    rng = np.random.default_rng(1)
    batches = {
        name: _batch(rng, per_batch, archive.label_key, archive.num_classes)
        for name in (*archive.train_members, archive.test_member)
    }
    members = {name: _py2_pickle(batch) for name, batch in batches.items()}
    meta = archive.test_member.rsplit("/", 1)[0] + (
        "/batches.meta" if archive is CIFAR10 else "/meta"
    )
    members[meta] = _py2_pickle({b"label_names": [b"a", b"b"]})
    md5 = _write_archive(directory / archive.filename, members)
    return md5, batches


@pytest.mark.parametrize("archive", [CIFAR10, CIFAR100], ids=lambda a: a.name)
def test_cifar_tiny_archive_loads_in_nhwc(tmp_path: Path, archive: CifarArchive) -> None:
    md5, batches = _tiny_cifar(archive, tmp_path)
    train = [batches[name] for name in archive.train_members]
    # Known pixel: batch 0, image 3, channel 1 (green), row 5, column 7.
    train[0][b"data"][3, 1 * 1024 + 5 * 32 + 7] = 201
    md5 = _write_archive(
        tmp_path / archive.filename,
        {name: _py2_pickle(batch) for name, batch in batches.items()},
    )
    data = load_cifar(archive, tmp_path, md5=md5)

    assert data.name == archive.name
    assert data.num_classes == archive.num_classes
    assert data.x_train.shape == (20 * len(train), 32, 32, 3)
    assert data.x_test.shape == (20, 32, 32, 3)
    assert data.x_train.dtype == np.uint8 and data.y_train.dtype == np.int64
    assert data.x_train[3, 5, 7, 1] == 201
    flat = np.concatenate([b[b"data"] for b in train])
    np.testing.assert_array_equal(data.x_train, flat.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    labels = np.concatenate([b[archive.label_key] for b in train])
    np.testing.assert_array_equal(data.y_train, labels)
    np.testing.assert_array_equal(data.y_test, batches[archive.test_member][archive.label_key])
    assert not data.x_train.flags.writeable


def _record_call(tag: str) -> None:
    _CALLS.append(tag)


_CALLS: list[str] = []


class _Trap:
    """Unpickling this calls `_record_call`: proof of whether a pickle was ever loaded."""

    def __reduce__(self) -> tuple[Callable[[str], None], tuple[str]]:
        return _record_call, ("unpickled",)


def _trap_archive(directory: Path) -> str:
    payload = pickle.dumps({b"data": _Trap(), b"labels": []}, protocol=4)
    pickle.loads(payload)  # the trap works when nothing restricts the unpickler
    assert _CALLS == ["unpickled"]
    _CALLS.clear()
    members = {name: payload for name in (*CIFAR10.train_members, CIFAR10.test_member)}
    return _write_archive(directory / CIFAR10.filename, members)


def test_checksum_mismatch_stops_before_unpickling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _trap_archive(tmp_path)
    actual = hashlib.md5((tmp_path / CIFAR10.filename).read_bytes()).hexdigest()
    unpickled: list[str] = []
    monkeypatch.setattr(cifar, "_unpickle", lambda raw, where: unpickled.append(where))
    # load_dataset uses the official checksum, which the tiny archive cannot have.
    with pytest.raises(UserError, match="checksum") as error:
        load_dataset("cifar10", tmp_path)
    message = str(error.value)
    assert CIFAR10.md5 in message and actual in message
    assert str(tmp_path / CIFAR10.filename) in message and "delete" in message
    assert unpickled == [] and _CALLS == []


def test_restricted_unpickler_refuses_foreign_globals(tmp_path: Path) -> None:
    md5 = _trap_archive(tmp_path)
    with pytest.raises(UserError, match=r"refusing to unpickle .*_record_call"):
        load_cifar(CIFAR10, tmp_path, md5=md5)
    assert _CALLS == []


def test_missing_archive_without_network_explains_alternatives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def offline(url: str, dest: Path, md5: str) -> None:
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(cifar, "download", offline)
    with pytest.raises(UserError) as error:
        load_dataset("cifar10", tmp_path / "data")
    message = str(error.value)
    assert str(tmp_path / "data" / CIFAR10.filename) in message
    assert CIFAR10.url in message and "npz:" in message and "synthetic" in message
    assert "\n" not in message


def _serve(monkeypatch: pytest.MonkeyPatch, payload: bytes) -> None:
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: io.BytesIO(payload))


def test_download_is_verified_then_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    md5, _ = _tiny_cifar(CIFAR10, tmp_path)
    _serve(monkeypatch, (tmp_path / CIFAR10.filename).read_bytes())
    target = tmp_path / "downloads"
    data = load_cifar(CIFAR10, target, md5=md5)
    assert data.x_train.shape == (100, 32, 32, 3)
    assert (target / CIFAR10.filename).is_file()


def test_corrupt_download_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _serve(monkeypatch, b"truncated")
    with pytest.raises(UserError, match="md5"):
        load_cifar(CIFAR10, tmp_path, md5="0" * 32)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- npz


def _arrays(label_dtype: type = np.uint8) -> dict[str, np.ndarray]:
    """The smallest images VGG-19 takes (16) and then some, H != W; classes 0..3."""
    rng = np.random.default_rng(2)
    return {
        "x_train": rng.integers(0, 256, size=(12, 17, 18, 2), dtype=np.uint8),
        "y_train": np.array([0, 1, 2, 3] * 3, dtype=label_dtype),
        "x_test": rng.integers(0, 256, size=(4, 17, 18, 2), dtype=np.uint8),
        "y_test": np.array([3, 0, 1, 2], dtype=label_dtype),
    }


def test_npz_loads_relative_path_and_computes_stats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arrays = _arrays()
    np.savez(tmp_path / "mine.npz", **arrays)
    monkeypatch.chdir(tmp_path)
    data = load_dataset("npz:mine.npz", Path("unused"))

    assert data.name == f"npz:{tmp_path.resolve() / 'mine.npz'}"
    assert data.num_classes == 4
    assert data.y_train.dtype == np.int64
    scaled = arrays["x_train"] / 255.0
    np.testing.assert_allclose(data.mean, scaled.mean(axis=(0, 1, 2)), rtol=1e-12)
    np.testing.assert_allclose(data.std, scaled.std(axis=(0, 1, 2)), rtol=1e-12)
    # The fingerprint depends on the data, not on how the labels were stored.
    np.savez(tmp_path / "wide.npz", **_arrays(np.int32))
    assert load_dataset("npz:wide.npz", Path("unused")).fingerprint == data.fingerprint


def _without(key: str) -> Callable[[dict], None]:
    return lambda arrays: arrays.pop(key)


def _replace(key: str, value: Callable[[np.ndarray], np.ndarray]) -> Callable[[dict], None]:
    return lambda arrays: arrays.__setitem__(key, value(arrays[key]))


MALFORMED = {
    "missing array": (_without("y_test"), "lacks the arrays y_test"),
    "object array": (
        _replace("y_train", lambda y: np.array(list(y), dtype=object)),
        "object array",
    ),
    "float images": (_replace("x_train", lambda x: x.astype(np.float32)), "must be uint8"),
    "3-D images": (_replace("x_test", lambda x: x[..., 0]), "must be 4-D"),
    "shape mismatch": (_replace("x_test", lambda x: x[:, :16]), "same"),
    "label count": (_replace("y_train", lambda y: y[:-1]), "11 labels"),
    "negative label": (_replace("y_test", lambda y: y.astype(np.int8) - 1), "negative"),
    "float labels": (_replace("y_train", lambda y: y.astype(np.float64)), "integers"),
    "2-D labels": (_replace("y_train", lambda y: y[:, None]), "1-D"),
    "empty train": (
        lambda a: a.update(x_train=a["x_train"][:0], y_train=a["y_train"][:0]),
        "empty",
    ),
    "empty test": (
        lambda a: a.update(x_test=a["x_test"][:0], y_test=a["y_test"][:0]),
        "empty",
    ),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_npz_is_a_user_error(tmp_path: Path, case: str) -> None:
    corrupt, expected = MALFORMED[case]
    arrays = _arrays()
    corrupt(arrays)
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(UserError, match=expected) as error:
        load_dataset(f"npz:{path}", tmp_path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "not found"),
        (b"this is not a zip file", "not a valid .npz"),
        (b"PK\x03\x04 broken zip", "not a valid .npz"),
        ("npy", "single .npy array"),
    ],
    ids=["missing", "garbage", "broken zip", "npy"],
)
def test_unreadable_npz_is_a_user_error(
    tmp_path: Path, content: bytes | str | None, expected: str
) -> None:
    path = tmp_path / "bad.npz"
    if content == "npy":
        with open(path, "wb") as handle:
            np.save(handle, np.zeros(3))
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(UserError, match=expected) as error:
        load_dataset(f"npz:{path}", tmp_path)
    assert str(path) in str(error.value)


@pytest.mark.parametrize("spec", ["imagenet", "npz:", "CIFAR10"])
def test_unknown_spec_is_a_user_error(spec: str, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="npz"):
        load_dataset(spec, tmp_path)
    assert "synthetic" in DATASET_CHOICES


@pytest.mark.skipif(not REAL_SUBSET.is_file(), reason=f"real CIFAR-10 subset absent: {REAL_SUBSET}")
def test_real_cifar10_subset_via_npz(tmp_path: Path) -> None:
    data = load_dataset(f"npz:{REAL_SUBSET}", tmp_path)
    assert data.x_train.shape == (5085, 32, 32, 3) and data.x_test.shape == (1017, 32, 32, 3)
    assert data.num_classes == 10 and data.y_train.dtype == np.int64
    np.testing.assert_allclose(data.mean, (0.4936, 0.4846, 0.4483), atol=6e-5)
    np.testing.assert_allclose(data.std, (0.2481, 0.2446, 0.2621), atol=6e-5)


# ---------------------------------------------------------------- synthetic


@pytest.fixture(scope="module")
def synthetic():
    return load_synthetic()


def test_synthetic_is_deterministic_and_balanced(synthetic) -> None:
    assert load_dataset("synthetic", Path("unused")) is synthetic  # cached
    again = load_synthetic.__wrapped__()  # generated afresh
    for key in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(synthetic, key), getattr(again, key))
    assert again.fingerprint == synthetic.fingerprint
    # Pinned: a change here means results on synthetic data are no longer comparable.
    assert synthetic.fingerprint == SYNTHETIC_FINGERPRINT
    assert synthetic.x_train.shape == (5000, 32, 32, 3)
    assert synthetic.x_test.shape == (1000, 32, 32, 3)
    assert synthetic.x_train.dtype == np.uint8 and synthetic.y_train.dtype == np.int64
    assert synthetic.num_classes == 10
    assert np.bincount(synthetic.y_train).tolist() == [500] * 10
    assert np.bincount(synthetic.y_test).tolist() == [100] * 10


SYNTHETIC_FINGERPRINT = "754a02ccb97c774c9a676cf13c7087e1858ec47b45cf44ecf7b60cbdc2d262fb"


def test_synthetic_is_not_separable_by_pixel_class_means(synthetic) -> None:
    # Measured: 0.107 (chance); the classes differ in texture, which needs a learned model.
    x_train = synthetic.x_train.reshape(5000, -1) / 255.0
    x_test = synthetic.x_test.reshape(1000, -1) / 255.0
    means = np.stack([x_train[synthetic.y_train == c].mean(axis=0) for c in range(10)])
    distance = (x_test**2).sum(1)[:, None] - 2 * x_test @ means.T + (means**2).sum(1)[None]
    accuracy = (distance.argmin(axis=1) == synthetic.y_test).mean()
    assert accuracy < 0.3


# ---------------------------------------------------------------- DeviceLoader


MEAN, STD = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)


def _loader(images: np.ndarray, augment: bool, seed: int = 7, **kwargs) -> DeviceLoader:
    labels = np.arange(len(images))  # label = image index: shows which image was served
    channels = images.shape[-1]
    return DeviceLoader(
        images,
        labels,
        MEAN[:channels],
        STD[:channels],
        16,
        torch.device("cpu"),
        augment,
        seed,
        **kwargs,
    )


def _images(shape: tuple[int, ...] = (50, 32, 32, 3)) -> np.ndarray:
    return np.random.default_rng(3).integers(0, 256, size=shape, dtype=np.uint8)


def _reference(image: np.ndarray, dy: int, dx: int, flip: bool) -> np.ndarray:
    """Pad, crop and mirror one image the obvious way, then normalise it to CHW."""
    height, width = image.shape[:2]
    padded = np.pad(image, ((PAD, PAD), (PAD, PAD), (0, 0)))
    crop = padded[dy : dy + height, dx : dx + width]
    if flip:
        crop = crop[:, ::-1]
    return _normalised(crop)


def _normalised(image: np.ndarray) -> np.ndarray:
    channels = image.shape[-1]
    return ((image / 255.0 - MEAN[:channels]) / STD[:channels]).transpose(2, 0, 1)


def _collect(batches) -> tuple[torch.Tensor, torch.Tensor]:
    xs, ys = zip(*batches, strict=True)
    return torch.cat(xs), torch.cat(ys)


def test_epochs_are_reproducible_and_cover_every_image() -> None:
    images = _images()
    first, second = _loader(images, True), _loader(images, True)
    assert len(first) == 4 and len(_loader(images, True, drop_last=True)) == 3
    for _ in first.epoch(0):  # an earlier epoch must not change later ones
        pass
    x5, y5 = _collect(first.epoch(5))
    x5_again, y5_again = _collect(second.epoch(5))
    assert torch.equal(x5, x5_again) and torch.equal(y5, y5_again)
    assert sorted(y5.tolist()) == list(range(50))
    _, y6 = _collect(first.epoch(6))
    assert not torch.equal(y5, y6)
    _, y5_other_seed = _collect(_loader(images, True, seed=8).epoch(5))
    assert not torch.equal(y5, y5_other_seed)


@pytest.mark.parametrize("shape", [(50, 32, 32, 3), (20, 12, 9, 1)], ids=["cifar", "odd"])
def test_augmentation_matches_per_image_reference(shape: tuple[int, ...]) -> None:
    images = _images(shape)
    loader = _loader(images, True)
    plan = epoch_plan(len(images), 7, 2)
    assert set(plan.dy.tolist()) | set(plan.dx.tolist()) <= set(range(2 * PAD + 1))
    x, y = _collect(loader.epoch(2))
    assert x.shape == (shape[0], shape[3], shape[1], shape[2]) and x.dtype == torch.float32
    assert torch.equal(y, plan.order)
    for k in range(len(images)):
        expected = _reference(
            images[plan.order[k]], int(plan.dy[k]), int(plan.dx[k]), bool(plan.flip[k])
        )
        np.testing.assert_allclose(x[k].numpy(), expected, atol=1e-5)


def test_without_augmentation_batches_are_normalised_originals() -> None:
    images = _images()
    loader = _loader(images, False)
    expected = np.stack([_normalised(image) for image in images])
    for batches in (loader.epoch(3), loader.eval_batches(1000)):
        x, y = _collect(batches)
        assert y.tolist() == list(range(50))
        np.testing.assert_allclose(x.numpy(), expected, atol=1e-5)


def test_shuffle_without_augmentation_follows_the_plan() -> None:
    images = _images()
    loader = _loader(images, False, shuffle=True)
    x, y = _collect(loader.epoch(4))
    plan = epoch_plan(len(images), 7, 4)
    assert torch.equal(y, plan.order)
    expected = np.stack([_normalised(images[i]) for i in plan.order.tolist()])
    np.testing.assert_allclose(x.numpy(), expected, atol=1e-5)


def test_normalisation_with_dataset_stats_centres_the_data(synthetic) -> None:
    loader = DeviceLoader(
        synthetic.x_test,
        synthetic.y_test,
        synthetic.mean,
        synthetic.std,
        256,
        torch.device("cpu"),
        False,
        0,
    )
    x, _ = _collect(loader.eval_batches())
    # Test statistics differ a little from the train statistics used for normalising.
    np.testing.assert_allclose(x.mean(dim=(0, 2, 3)).numpy(), 0.0, atol=0.05)
    np.testing.assert_allclose(x.std(dim=(0, 2, 3)).numpy(), 1.0, atol=0.05)
