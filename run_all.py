"""Demo grid: every pruning method on the embedded synthetic data, a few seeds, one table.

    python3 tools/in_env.py python run_all.py

This is the small, honest stand-in for the full orchestrator (presets, resumable run
store, parallel and Slurm execution, report) that the grid issue builds: it already
skips runs whose result file exists, so an interrupted demo resumes where it stopped.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

from benchmark.atomic import write_json_atomic
from benchmark.config import RunConfig
from benchmark.errors import UserError
from benchmark.results import load_result
from benchmark.run import ensure_writable, resolve_device
from benchmark.train import prepare, train

METHODS = ("fggp", "magnitude", "gradient", "annealed_hybrid")


def demo_grid(dataset: str, seeds: int, epochs: int, target: float) -> list[RunConfig]:
    base = RunConfig(arch="vgg19", width=0.125, dataset=dataset, epochs=epochs, batch_size=128)
    configs = []
    for seed in range(seeds):
        configs.append(base.replace(method="dense", target_sparsity=0.0, seed=seed))
        configs += [base.replace(method=m, target_sparsity=target, seed=seed) for m in METHODS]
    return [prepare(c) for c in configs]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="synthetic", help="synthetic, npz:PATH, cifar10")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--target-sparsity", type=float, default=0.95)
    parser.add_argument("--out", type=Path, default=Path("results/demo"))
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    try:
        if args.seeds < 1 or args.epochs < 1:
            raise UserError("--seeds and --epochs must be at least 1")
        configs = demo_grid(args.dataset, args.seeds, args.epochs, args.target_sparsity)
        device = resolve_device(args.device)
        ensure_writable(args.out)
        results = []
        started = time.perf_counter()
        for index, config in enumerate(configs, 1):
            path = args.out / f"{config.run_id()}.json"
            result = load_result(path)
            state = "cached"
            if result is None:
                result = train(config, device=device)
                write_json_atomic(path, result)
                state = f"{result['cost']['wall_seconds']:.0f}s"
            results.append(result)
            print(
                f"[{index}/{len(configs)}] {config.method:<16} seed {config.seed}  "
                f"test {result['final']['test_acc']:6.2f}%  "
                f"sparsity {result['final']['sparsity']:.4f}  ({state})",
                flush=True,
            )
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished runs are kept; run again to resume", file=sys.stderr)
        return 130
    print_table(results)
    print(
        f"\n{len(results)} runs in {time.perf_counter() - started:.0f}s on {device}; "
        f"results in {args.out}/ (torch {torch.__version__})"
    )
    return 0


def print_table(results: list[dict]) -> None:
    by_method: dict[str, list[float]] = {}
    for result in results:
        by_method.setdefault(result["config"]["method"], []).append(result["final"]["test_acc"])
    print(f"\n{'method':<16} {'n':>2} {'final test acc (mean ± std)':>28}")
    for method, accs in sorted(by_method.items(), key=lambda item: -statistics.mean(item[1])):
        spread = statistics.stdev(accs) if len(accs) > 1 else 0.0
        print(f"{method:<16} {len(accs):>2} {statistics.mean(accs):>20.2f} ± {spread:.2f}")


if __name__ == "__main__":
    sys.exit(main())
