"""A CIFAR-shaped data set generated from code: no download, same bytes everywhere.

It exists so that tests and CPU-only machines can train and prune real networks. It is
made to be learnable but not easy: each class is a texture (a few oriented colour
gratings with class-specific frequency, orientation and colour) shown at a random place,
phase and contrast, overlaid by the texture of another class at up to equal strength
(the ambiguous cases), on smooth clutter with pixel noise; there is no label noise.
Class means of the raw pixels are all flat grey (nearest-class-mean and ridge regression
on pixels: 10.7% / 10.9%, chance). Measured on the 2-core development CPU: a 57k-parameter
3-block CNN reaches 90.1% test accuracy after 30 epochs (~1 CPU-minute); VGG-19 at 1/8
width with the paper's recipe compressed to 10 epochs reaches ~60%, so pruning methods
have room to differ.

Changing anything here changes the data: the test suite pins its fingerprint.
"""

from __future__ import annotations

import functools

import numpy as np

from benchmark.data.dataset import Dataset, make_dataset

SYNTHETIC_NAME = "synthetic"

_SEED = 0
_NUM_CLASSES = 10
_TRAIN_PER_CLASS = 500
_TEST_PER_CLASS = 100
_SIZE = 32
_CHANNELS = 3
_GRATINGS = 2  # per class
_FREQ_RANGE = (2.5, 10.0)  # cycles per image width
_ORIENT_JITTER = 0.25  # radians, per sample
_FREQ_JITTER = 0.15  # log-normal sigma, per sample
_AMP_RANGE = (1.0, 1.6)
_DISTRACTOR_RATIO = (0.0, 1.0)  # other-class texture amplitude relative to the class's
_SIGMA_RANGE = (5.0, 10.0)  # texture window radius in pixels
_CLUTTER = 0.5
_CLUTTER_GRID = 4
_NOISE = 0.4
_BRIGHTNESS = 0.2
_PIXEL_SCALE = 50.0
_CHUNK = 500  # images rendered at once, bounding float64 temporaries to ~30 MB


@functools.cache
def load_synthetic() -> Dataset:
    """The synthetic data set: 5,000 train and 1,000 test images, 10 balanced classes.

    Cached: the result is immutable (read-only arrays), and test suites and in-process
    grids ask for it once per run.
    """
    rng = np.random.default_rng(_SEED)
    prototypes = _prototypes(rng)
    y_train = _balanced_labels(rng, _TRAIN_PER_CLASS)
    y_test = _balanced_labels(rng, _TEST_PER_CLASS)
    x_train = _render(rng, prototypes, y_train)
    x_test = _render(rng, prototypes, y_test)
    return make_dataset(SYNTHETIC_NAME, x_train, y_train, x_test, y_test, _NUM_CLASSES)


def _prototypes(rng: np.random.Generator) -> dict[str, np.ndarray]:
    shape = (_NUM_CLASSES, _GRATINGS)
    colour = rng.normal(size=(*shape, _CHANNELS))
    return {
        "freq": rng.uniform(*_FREQ_RANGE, size=shape),
        "angle": rng.uniform(0.0, np.pi, size=shape),
        "colour": colour / np.linalg.norm(colour, axis=-1, keepdims=True),
    }


def _balanced_labels(rng: np.random.Generator, per_class: int) -> np.ndarray:
    return rng.permutation(np.repeat(np.arange(_NUM_CLASSES), per_class))


def _render(
    rng: np.random.Generator, prototypes: dict[str, np.ndarray], labels: np.ndarray
) -> np.ndarray:
    count = len(labels)
    # Every random number is drawn up front, in one order, so chunking cannot change them.
    offset = rng.integers(1, _NUM_CLASSES, size=count)
    distractor_labels = (labels + offset) % _NUM_CLASSES
    amplitude = rng.uniform(*_AMP_RANGE, size=count)
    ratio = rng.uniform(*_DISTRACTOR_RATIO, size=count)
    textures = [
        _texture_params(rng, prototypes, labels, amplitude),
        _texture_params(rng, prototypes, distractor_labels, amplitude * ratio),
    ]
    clutter = rng.normal(size=(count, _CLUTTER_GRID, _CLUTTER_GRID, _CHANNELS)) * _CLUTTER
    # Pixel noise is too large to draw up front; its own stream is drawn chunk by chunk.
    noise_rng = np.random.default_rng(rng.integers(2**63))
    brightness = rng.normal(size=(count, 1, 1, _CHANNELS)) * _BRIGHTNESS
    upsample = _bilinear_matrix(_CLUTTER_GRID, _SIZE)
    out = np.empty((count, _SIZE, _SIZE, _CHANNELS), dtype=np.uint8)
    for start in range(0, count, _CHUNK):
        part = slice(start, start + _CHUNK)
        image = sum(_draw_texture({k: v[part] for k, v in t.items()}) for t in textures)
        image = image + _upsample(clutter[part], upsample)
        image = image + brightness[part]
        image = image + noise_rng.standard_normal(image.shape, dtype=np.float32) * _NOISE
        out[part] = np.clip(np.rint(128.0 + _PIXEL_SCALE * image), 0, 255)
    return out


def _texture_params(
    rng: np.random.Generator,
    prototypes: dict[str, np.ndarray],
    labels: np.ndarray,
    amplitude: np.ndarray,
) -> dict[str, np.ndarray]:
    count = len(labels)
    shape = (count, _GRATINGS)
    return {
        "freq": prototypes["freq"][labels] * np.exp(rng.normal(size=shape) * _FREQ_JITTER),
        "angle": prototypes["angle"][labels] + rng.normal(size=shape) * _ORIENT_JITTER,
        "phase": rng.uniform(0.0, 2 * np.pi, size=shape),
        "colour": prototypes["colour"][labels] * amplitude[:, None, None],
        "centre": rng.uniform(4.0, _SIZE - 4.0, size=(count, 2)),
        "sigma": rng.uniform(*_SIGMA_RANGE, size=count),
    }


def _draw_texture(params: dict[str, np.ndarray]) -> np.ndarray:
    """Gratings under a Gaussian window, as float (N, H, W, C).

    Grating and window are separable in rows and columns (cos(a + b) = cos a cos b -
    sin a sin b), so cos, sin and exp run per row and column, and the image is one
    batched product of row factors (N, H, K) with column factors (N, K, W * C).
    """
    count = len(params["freq"])
    grid = np.arange(_SIZE, dtype=np.float64)[None, :, None]
    wave = 2 * np.pi * params["freq"] / _SIZE
    along_x = (wave * np.cos(params["angle"]))[:, None, :] * grid + params["phase"][:, None, :]
    along_y = (wave * np.sin(params["angle"]))[:, None, :] * grid  # both (N, 32, G)
    spread = 2 * params["sigma"][:, None, None] ** 2
    bump = np.exp(-((grid - params["centre"][:, None, :]) ** 2) / spread)  # (N, 32, 2)
    bump_y, bump_x = bump[..., :1], bump[..., 1:]
    rows = np.concatenate([np.cos(along_y) * bump_y, -np.sin(along_y) * bump_y], axis=2)
    cols = np.concatenate([np.cos(along_x) * bump_x, np.sin(along_x) * bump_x], axis=2)
    colour = np.concatenate([params["colour"]] * 2, axis=1)  # (N, 2G, C)
    cols = cols.transpose(0, 2, 1)[..., None] * colour[:, :, None, :]  # (N, 2G, W, C)
    texture = np.matmul(rows, cols.reshape(count, 2 * _GRATINGS, -1))
    return texture.reshape(count, _SIZE, _SIZE, _CHANNELS)


def _upsample(low: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(N, h, w, C) -> (N, H, W, C) with (H, h) interpolation `weights` applied on both axes."""
    rows = np.matmul(weights, low.transpose(0, 3, 1, 2))  # (N, C, H, w)
    return np.matmul(rows, weights.T).transpose(0, 2, 3, 1)


def _bilinear_matrix(low: int, high: int) -> np.ndarray:
    """(high, low) weights that interpolate a `low`-point grid onto `high` points."""
    position = (np.arange(high) + 0.5) * low / high - 0.5
    weights = np.maximum(0.0, 1.0 - np.abs(position[:, None] - np.arange(low)[None, :]))
    return weights / weights.sum(axis=1, keepdims=True)
