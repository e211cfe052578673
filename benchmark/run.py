"""Command line for one run: `python -m benchmark.run --method fggp ... --out DIR`.

Every `RunConfig` field is a flag (generated from the dataclass, so a new
hyperparameter cannot be forgotten here); `--recipe NAME` (benchmark/recipes/, e.g.
`released`, the FGGP authors' recipe) and `--config FILE.toml` supply a base that explicit
flags override. The result is written atomically to `DIR/<run_id>.json`.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

import baselines
from benchmark.atomic import write_json_atomic
from benchmark.cli import (
    check_threads,
    ensure_free_space,
    ensure_writable,
    space_needed,
)
from benchmark.config import (
    FIELD_TYPES,
    RunConfig,
    config_from_dict,
    load_config_file,
    parse_assignment,
)
from benchmark.devices import resolve_device
from benchmark.errors import EXIT_INTERRUPTED, EXIT_RUN_FAILED, EXIT_USER_ERROR, UserError
from benchmark.names import out_folder
from benchmark.planning import prepare
from benchmark.recipe import available_recipes, load_recipe
from benchmark.train import DEFAULT_DATA_DIR, train


def _command_line(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """A field's command-line reader, whose ValueError argparse reports as the flag's."""

    def read(text: str) -> Any:
        try:
            return parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"cannot read {text!r}") from None

    return read


def _parse_method_param(text: str) -> tuple[str, Any]:
    try:
        return parse_assignment(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmark.run",
        description="Train one network with gradual pruning and write its result JSON.",
        argument_default=argparse.SUPPRESS,
    )
    parser.add_argument(
        "--recipe",
        help="training recipe the other options build on (name or .toml path; built-in: "
        f"{', '.join(available_recipes())}; `released` is the FGGP paper's)",
    )
    parser.add_argument("--config", type=Path, help="TOML file with run configuration fields")
    parser.add_argument("--out", default="results/runs", help="result folder")
    parser.add_argument(
        "--data-dir", type=Path, default=None, help=f"dataset cache (default {DEFAULT_DATA_DIR})"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    parser.add_argument("--quiet", action="store_true", default=False, help="no per-epoch lines")
    parser.add_argument(
        "--compile",
        action="store_true",
        default=False,
        help="torch.compile the model (faster on GPUs after a minute or two of compiling; "
        "an execution option like --device, not part of the run's identity)",
    )
    group = parser.add_argument_group(
        "run configuration (defaults: the GraNet-style recipe; --recipe released for the paper's)"
    )
    for field in dataclasses.fields(RunConfig):
        flag = "--" + field.name.replace("_", "-")
        help_text = f"{field.metadata['help']} (default: {field.default!r})"
        if field.name == "method":
            help_text += (
                f"; one of {', '.join(baselines.available())}, or your own as path/to/file.py:name"
            )
        if field.name == "method_params":
            group.add_argument(
                "--method-param",
                dest="method_params",
                action="append",
                type=_parse_method_param,
                metavar="KEY=VALUE",
                help="a method parameter, e.g. rate=0.3 (repeatable)",
            )
        elif field.type == "bool":
            group.add_argument(flag, action=argparse.BooleanOptionalAction, help=help_text)
        else:
            parse = FIELD_TYPES[field.type].parse
            group.add_argument(flag, type=_command_line(parse), help=help_text)
    return parser


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """Defaults, then the recipe, the TOML file, explicit flags; method parameters merge
    likewise."""
    recipe = dict(load_recipe(args.recipe).fields) if "recipe" in args else {}
    values: dict[str, Any] = {
        **recipe,
        **(load_config_file(args.config) if "config" in args else {}),
    }
    file_params = values.pop("method_params", {})
    if not isinstance(file_params, dict):
        raise UserError("method_params in the config file must be a table")
    file_method = values.get("method", RunConfig().method)
    if getattr(args, "method", file_method) != file_method:
        file_params = {}  # the file's parameters belong to the method the flag replaced
    flags = {f.name: getattr(args, f.name) for f in dataclasses.fields(RunConfig) if f.name in args}
    method_params = {**file_params, **dict(flags.pop("method_params", []))}
    return config_from_dict({**values, **flags, "method_params": method_params})


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = prepare(config_from_args(args))
        device = resolve_device(args.device)
        out = out_folder(args.out)
        ensure_writable(out)
        ensure_free_space(out, space_needed(config))
        if args.threads is not None:
            torch.set_num_threads(check_threads(args.threads))
        log = None if args.quiet else print
        if log:
            log(
                f"run {config.run_id()}: {config.method} on {config.arch} x{config.width} "
                f"{config.dataset}, target sparsity {config.target_sparsity}, device {device}"
            )
        result = train(
            config,
            device=device,
            data_dir=args.data_dir or DEFAULT_DATA_DIR,
            log=log,
            compile=args.compile,
        )
        path = out / f"{result['run_id']}.json"
        write_json_atomic(path, result)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted; no result written", file=sys.stderr)
        return EXIT_INTERRUPTED
    final = result["final"]
    print(
        f"{result['status']}: test accuracy {final['test_acc']:.2f}%  "
        f"sparsity {final['sparsity']:.6f}  -> {path}"
    )
    return 0 if result["status"] == "completed" else EXIT_RUN_FAILED


if __name__ == "__main__":
    sys.exit(main())
