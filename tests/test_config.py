"""Run identity: the configuration hash, coercion, TOML files and validation."""

from __future__ import annotations

import pytest

from benchmark.config import RunConfig, config_from_dict, load_config_file, validate
from benchmark.errors import UserError
from benchmark.planning import prepare


def test_hash_is_stable_and_canonical():
    a = RunConfig(width=1, method_params={"select_ratio": 0.5}, lr_milestones=[0.5, 0.75])
    b = RunConfig(width=1.0, method_params=(("select_ratio", 0.5),))
    assert a == b and a.run_id() == b.run_id()
    assert len(a.run_id()) == 16
    # Pinned: a change of the canonical form or of a default renames every stored result,
    # so it must be deliberate (update this value and say so in the changelog).
    # Changed from bb751159a03e03e7 when the default precision became "auto" (issue 6), and
    # from e157fc0278845bba (fp32: bb751159a03e03e7) in harness version 2 (issue 10), when
    # label_smoothing, prune_every and keep_first_dense joined the configuration.
    assert RunConfig().run_id() == "0ef7208fa1580fe5"
    assert RunConfig(precision="fp32").run_id() == "2accbd368172e4aa"


def test_every_field_changes_the_hash():
    base = RunConfig()
    changed = {
        "arch": "resnet50",
        "width": 0.5,
        "dataset": "synthetic",
        "method": "magnitude",
        "method_params": {"select_ratio": 0.3},
        "target_sparsity": 0.9,
        "init_density": 0.5,
        "seed": 1,
        "prune_start": 0.1,
        "prune_end": 0.6,
        "prune_steps": 10,
        "prune_every": 100,
        "keep_first_dense": True,
        "keep_first_last_dense": True,
        "grad_source": "ema",
        "grad_ema_decay": 0.5,
        "epochs": 3,
        "batch_size": 64,
        "lr": 0.05,
        "momentum": 0.8,
        "nesterov": False,
        "weight_decay": 1e-4,
        "lr_milestones": (0.3,),
        "lr_gamma": 0.2,
        "label_smoothing": 0.1,
        "augment": False,
        "precision": "bf16",
        "train_limit": 10,
        "test_limit": 10,
        "val_size": 5,
    }
    assert set(changed) == set(base.to_dict())
    ids = {base.run_id()} | {base.replace(**{k: v}).run_id() for k, v in changed.items()}
    assert len(ids) == len(changed) + 1
    # "auto" is its own identity: it is not the same run as either precision it resolves to
    assert len({base.replace(precision=p).run_id() for p in ("auto", "fp32", "bf16")}) == 3


def test_default_method_parameters_are_part_of_the_identity():
    implicit = prepare(RunConfig(dataset="synthetic"))
    explicit = prepare(RunConfig(dataset="synthetic", method_params={"select_ratio": 0.5}))
    assert implicit.method_kwargs == {"select_ratio": 0.5}
    assert implicit.run_id() == explicit.run_id()


def test_toml_file(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('arch = "resnet50"\nwidth = 1\nepochs = 3\n[method_params]\nrate = 0.3\n')
    config = config_from_dict(load_config_file(path))
    assert (config.arch, config.width, config.epochs, config.method_kwargs) == (
        "resnet50",
        1.0,
        3,
        {"rate": 0.3},
    )
    (tmp_path / "bad.toml").write_text("arch = \n")
    with pytest.raises(UserError, match="not valid TOML"):
        load_config_file(tmp_path / "bad.toml")
    with pytest.raises(UserError, match="not found"):
        load_config_file(tmp_path / "missing.toml")
    with pytest.raises(UserError, match="unknown config field"):
        config_from_dict({"sparsity": 0.9})
    with pytest.raises(UserError, match="epochs"):
        config_from_dict({"epochs": "many"})
    with pytest.raises(UserError, match="epochs"):
        config_from_dict({"epochs": 2.5})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"target_sparsity": 1.0}, "target sparsity"),
        ({"target_sparsity": -0.1}, "target sparsity"),
        ({"init_density": 0.0}, "init density must be"),
        ({"init_density": 0.5, "target_sparsity": 0.3}, "below the target density"),
        ({"width": 0.0}, "width"),
        ({"epochs": 0}, "epochs"),
        ({"prune_start": 0.6, "prune_end": 0.5}, "prune_start"),
        ({"grad_source": "oracle"}, "grad source"),
        ({"precision": "fp8"}, "precision"),
        ({"lr": float("nan")}, "lr"),
        ({"lr_milestones": (1.5,)}, "milestones"),
        ({"label_smoothing": 1.0}, "label smoothing"),
        ({"label_smoothing": -0.1}, "label smoothing"),
        ({"prune_every": -1}, "prune_every"),
    ],
)
def test_validation(changes, message):
    with pytest.raises(UserError, match=message):
        validate(RunConfig(**changes))


def test_prepare_rejects_unknown_names_and_a_pruned_dense_baseline():
    with pytest.raises(UserError, match="unknown arch 'vgg11'; choose from"):
        prepare(RunConfig(arch="vgg11"))
    with pytest.raises(UserError, match="unknown method 'snip'"):
        prepare(RunConfig(method="snip"))
    with pytest.raises(UserError, match="target sparsity 0"):
        prepare(RunConfig(method="dense", target_sparsity=0.9))
    assert prepare(RunConfig(method="dense", target_sparsity=0.0)).method_kwargs == {}
