"""The full description of one run, and its identity.

Everything that can change a run's result lives in `RunConfig`, so two runs with the
same configuration hash are interchangeable and a grid can skip a run whose result
file already exists. Execution details that must not change the result beyond
floating-point rounding (device, thread count, `torch.compile`, cuDNN autotuning, output
folder, verbosity) are deliberately *not* here. Precision is: bf16 and fp32 are different
arithmetic, so `precision` is part of the identity; its default, `auto`, names "bf16 where
the GPU supports it, fp32 elsewhere", and each result records which one it got.

The defaults are the GraNet-style CIFAR recipe this suite started from (VGG-19, 160
epochs of SGD with Nesterov momentum, lr 0.1 decayed x0.1 at 50% and 75% of training,
batch 128, 31 cubic pruning steps over the first half); every option added since is off
by default. The FGGP paper's recipe as its authors released it is a named recipe,
`released` (benchmark/recipes/), which the `paper` preset uses.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from benchmark.errors import UserError

GRAD_SOURCES = ("batch", "ema")
# "auto": bf16 autocast on a CUDA GPU with native bf16 (compute capability 8.0+, Ampere and
# later), fp32 anywhere else. The result file records the precision actually used.
PRECISIONS = ("auto", "fp32", "bf16")
# Room above a run's seed for the fixed offsets that derive its other random streams from it
# (benchmark.train draws the initial mask from seed + 1,000,003). torch generators take 64
# bits and wrap negative seeds onto large ones (-1 is 2^64 - 1: one run under two ids), so
# seeds are non-negative and, offsets included, stay signed 64-bit integers, which torch
# and numpy generators both take as they are.
SEED_OFFSET_ROOM = 2**32
SEED_MAX = 2**63 - 1 - SEED_OFFSET_ROOM
# Width scales every channel count, so the parameter count grows as width^2: at 8, 64x the
# paper's models (VGG-19 1.28B, ResNet-50 1.50B weights), whose weights, gradients, momentum
# and masks alone take about 20 GB. At 16 (5-6B weights) they no longer fit one 80 GB GPU.
WIDTH_MAX = 8.0


def _field(default: Any, help: str) -> Any:
    return dataclasses.field(default=default, metadata={"help": help})


@dataclasses.dataclass(frozen=True)
class RunConfig:
    # --- what is trained, on what, and how it is pruned
    arch: str = _field("vgg19", "architecture: vgg19 or resnet50")
    width: float = _field(1.0, "channel width multiplier (1.0 = the paper's model)")
    dataset: str = _field("cifar10", "cifar10, cifar100, npz:PATH or synthetic")
    method: str = _field("fggp", "pruning method (registry name)")
    method_params: tuple[tuple[str, Any], ...] = _field(
        (), "method parameters; defaults are filled in before the run is hashed"
    )
    target_sparsity: float = _field(0.95, "final fraction of pruned prunable weights, in [0, 1)")
    init_density: float = _field(1.0, "initial density: 1.0 dense, <1 random ERK-sparse start")
    seed: int = _field(0, "fixes initial weights, initial mask and data order")
    # --- pruning schedule: fractions of the total number of training iterations
    prune_start: float = _field(0.0, "start of the pruning window, fraction of training")
    prune_end: float = _field(0.5, "end of the pruning window, fraction of training")
    prune_steps: int = _field(31, "pruning steps spread evenly over the window (prune_every = 0)")
    prune_every: int = _field(
        0, "prune every N training iterations within the window (0: prune_steps evenly spaced)"
    )
    keep_first_dense: bool = _field(False, "never prune the first layer (released FGGP code)")
    keep_first_last_dense: bool = _field(False, "never prune the first and last layer")
    grad_source: str = _field("batch", "gradient for gradient criteria: batch or ema")
    grad_ema_decay: float = _field(0.9, "decay of the gradient EMA (grad_source = ema)")
    # --- optimisation
    epochs: int = _field(160, "training epochs")
    batch_size: int = _field(128, "minibatch size")
    lr: float = _field(0.1, "initial learning rate")
    momentum: float = _field(0.9, "SGD momentum")
    nesterov: bool = _field(True, "Nesterov momentum")
    weight_decay: float = _field(5e-4, "L2 weight decay")
    lr_milestones: tuple[float, ...] = _field(
        (0.5, 0.75), "fractions of training at which the lr is multiplied by lr_gamma"
    )
    lr_gamma: float = _field(0.1, "lr decay factor at each milestone")
    label_smoothing: float = _field(0.0, "label smoothing of the training loss, in [0, 1)")
    augment: bool = _field(True, "random crop (4-pixel padding) and horizontal flip")
    precision: str = _field(
        "auto", "auto (bf16 on GPUs that support it, else fp32), fp32, or bf16 autocast"
    )
    # --- data subsets (0 = all); validation images are carved from the training set
    train_limit: int = _field(0, "use only the first N training images (0 = all)")
    test_limit: int = _field(0, "use only the first N test images (0 = all)")
    val_size: int = _field(0, "hold out N training images as a validation set")

    def __post_init__(self) -> None:
        # Coerce so that `width = 1` from TOML and `width = 1.0` hash identically.
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            try:
                coerced = _coerce(field.type, value)
            except (TypeError, ValueError):
                raise UserError(
                    f"config field {field.name!r}: cannot use {value!r} as {field.type}"
                ) from None
            object.__setattr__(self, field.name, coerced)

    @property
    def method_kwargs(self) -> dict[str, Any]:
        return dict(self.method_params)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["method_params"] = self.method_kwargs
        data["lr_milestones"] = list(self.lr_milestones)
        return data

    def run_id(self) -> str:
        """Hash of the canonical configuration: the run's name in every result folder."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]

    def replace(self, **changes: Any) -> RunConfig:
        return dataclasses.replace(self, **changes)


def _coerce(type_name: str, value: Any) -> Any:
    return FIELD_TYPES[type_name].coerce(value)


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError
    return float(value)


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise TypeError
    return int(value)


def _of(kind: type) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if not isinstance(value, kind):
            raise TypeError
        return value

    return check


def _floats(value: Any) -> tuple[float, ...]:
    if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
        raise TypeError
    return tuple(_float(v) for v in value)


def _params(value: Any) -> tuple[tuple[str, Any], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple(sorted((str(k), v) for k, v in items))


def parse_floats(text: str) -> tuple[float, ...]:
    """`0.5,0.75` from a command line (ValueError when a part is not a number)."""
    return tuple(float(part) for part in text.split(",") if part.strip())


@dataclasses.dataclass(frozen=True)
class FieldType:
    """How a `RunConfig` field's annotation reads a value: `coerce` from TOML/JSON data
    (TypeError or ValueError when it cannot), `parse` from command-line text (None: the
    command line gives it its own form, a boolean flag or KEY=VALUE pairs)."""

    coerce: Callable[[Any], Any]
    parse: Callable[[str], Any] | None


FIELD_TYPES: dict[str, FieldType] = {
    "float": FieldType(_float, float),
    "int": FieldType(_int, int),
    "bool": FieldType(_of(bool), None),
    "str": FieldType(_of(str), str),
    "tuple[float, ...]": FieldType(_floats, parse_floats),
    "tuple[tuple[str, Any], ...]": FieldType(_params, None),
}
"""The one table from annotation to reading: configurations and the run command share it."""


FIELD_NAMES = tuple(f.name for f in dataclasses.fields(RunConfig))


def config_from_dict(data: Mapping[str, Any], base: RunConfig | None = None) -> RunConfig:
    """Build a config from plain data (TOML, JSON, CLI), rejecting unknown keys by name."""
    unknown = sorted(set(data) - set(FIELD_NAMES))
    if unknown:
        raise UserError(f"unknown config field(s): {', '.join(unknown)}")
    return dataclasses.replace(base or RunConfig(), **dict(data))


def parse_assignment(text: str) -> tuple[str, Any]:
    """`KEY=VALUE` from a command line: numbers, booleans and quoted strings as TOML reads
    them, anything else as a plain string."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key.strip(), tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return key.strip(), raw


def load_config_file(path: Path, kind: str = "config file") -> dict[str, Any]:
    """Read a TOML file of run configuration fields (or a preset or recipe: `kind` names
    it in errors); `[method_params]` is a table of the method's parameters."""
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise UserError(f"{kind} not found: {path}") from None
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{kind} {path} is not valid TOML: {error}") from None
    except UnicodeDecodeError:
        raise UserError(f"{kind} {path} is not UTF-8 text") from None
    except OSError as error:
        raise UserError(f"cannot read {kind} {path}: {error.strerror}") from None


def named_file(name_or_path: str, folder: Path, kind: str) -> Path:
    """A built-in TOML file by name (`folder/<name>.toml`) or a user's file by path."""
    path = Path(name_or_path)
    if path.suffix:
        return path
    path = folder / f"{name_or_path}.toml"
    if not path.exists():
        choices = ", ".join(sorted(p.stem for p in folder.glob("*.toml")))
        raise UserError(
            f"unknown {kind} {name_or_path!r}; choose from: {choices} "
            "or give a path to a .toml file"
        )
    return path


def validate(config: RunConfig) -> None:
    """Reject configurations that cannot describe a meaningful run, before any work starts."""
    infinite = _non_finite(config)
    checks: list[tuple[bool, str]] = [
        (0.0 <= config.target_sparsity < 1.0, "target sparsity must be in [0, 1)"),
        (0.0 < config.init_density <= 1.0, "init density must be in (0, 1]"),
        (
            config.init_density >= 1.0 - config.target_sparsity - 1e-12,
            f"init density {config.init_density} is below the target density "
            f"{1.0 - config.target_sparsity:.6g}: gradual pruning only removes weights",
        ),
        (
            0 < config.width <= WIDTH_MAX,
            f"width must be in (0, {WIDTH_MAX:g}]: parameters grow as width^2 (at "
            f"{WIDTH_MAX:g}, VGG-19 has 1.3B and ResNet-50 1.5B weights, 64x the paper's); "
            "a wider model's training state outgrows one GPU",
        ),
        (
            0 <= config.seed <= SEED_MAX,
            f"seed must be in [0, {SEED_MAX}]: a non-negative 64-bit integer with room for "
            "the offsets that derive the run's other random streams",
        ),
        (config.epochs >= 1, "epochs must be at least 1"),
        (config.batch_size >= 1, "batch size must be at least 1"),
        (config.lr > 0, "lr must be positive"),
        (0.0 <= config.momentum < 1.0, "momentum must be in [0, 1)"),
        (config.weight_decay >= 0, "weight decay must be non-negative"),
        (
            0.0 <= config.prune_start < config.prune_end <= 1.0,
            "need 0 <= prune_start < prune_end <= 1 (fractions of training)",
        ),
        (config.prune_steps >= 1, "prune steps must be at least 1"),
        (config.prune_every >= 0, "prune_every must be non-negative (0: use prune_steps)"),
        (0.0 <= config.label_smoothing < 1.0, "label smoothing must be in [0, 1)"),
        (config.grad_source in GRAD_SOURCES, f"grad source must be one of {GRAD_SOURCES}"),
        (0.0 <= config.grad_ema_decay < 1.0, "grad EMA decay must be in [0, 1)"),
        (config.precision in PRECISIONS, f"precision must be one of {PRECISIONS}"),
        (all(0.0 < m < 1.0 for m in config.lr_milestones), "lr milestones are in (0, 1)"),
        (config.lr_gamma > 0, "lr gamma must be positive"),
        (
            min(config.train_limit, config.test_limit, config.val_size) >= 0,
            "train/test limits and validation size must be non-negative",
        ),
        (
            not infinite,
            f"{', '.join(infinite)} must be finite: a run's configuration is JSON (its id, "
            "its result file), which has no NaN or infinity",
        ),
    ]
    for ok, message in checks:
        if not ok:
            raise UserError(message)


_FLOAT_FIELDS = tuple(f.name for f in dataclasses.fields(RunConfig) if f.type == "float")


def _non_finite(config: RunConfig) -> list[str]:
    """The float fields and method parameters that hold NaN or an infinity, by name."""
    fields = [name for name in _FLOAT_FIELDS if not math.isfinite(getattr(config, name))]
    params = [f"method parameter {k}" for k, v in config.method_params if not _finite(v)]
    return fields + params


def _finite(value: Any) -> bool:
    """False where a float anywhere in `value` (a TOML scalar, array or table) is not finite."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, Mapping):
        return all(_finite(item) for item in value.values())
    if isinstance(value, list | tuple):
        return all(_finite(item) for item in value)
    return True
