"""How fast the harness trains, against a reference-style pipeline: `python -m benchmark.perf`.

For each architecture it measures, in one process and on one device:

(a) the harness as configured for the paper: the `TrainingRun` that `benchmark.train` uses
    (data resident on the device, batched on-device augmentation, the masked optimizer
    step, the pruning controller, `precision = auto`, channels_last and cuDNN autotuning
    on CUDA, optionally `torch.compile`), driven through its own `train_step`;
(b) a reference-style pipeline (GraNet / sparselearning style): a torchvision dataset of
    PIL images, `DataLoader` worker processes running `RandomCrop(32, padding=4)`,
    `RandomHorizontalFlip`, `ToTensor`, `Normalize`, fp32, the same model, the same SGD,
    a mask multiply per layer after each step and a `loss.item()` per step;

and prints images per second of training, the epoch time for CIFAR-10's 50,000 training
images, the ratio (a)/(b), the achieved model FLOP/s (6 x dense forward MACs per image)
and its fraction of the device's datasheet peak, the cost of one global pruning step, and
the paper grid's projected GPU time. `--runs-per-gpu M` also runs M harness processes on
the device at once and reports their aggregate throughput.

No data set is read or downloaded: both pipelines train on the same in-memory stand-in
(random CIFAR-shaped uint8 images, 10 classes); speed does not depend on pixel values.
Only figures measured on a GPU say anything about the paper grid's cost; on a CPU the
script runs at small sizes so its correctness can be tested (tests/test_perf.py).

One module per job; the package itself only exposes the command's `main` (from `cli`),
which `fggp-bench perf` (benchmark/commands.py) calls:

- `workload`: what is timed: the paper configuration of each architecture, the stand-in
  images, CIFAR-10's sizes;
- `timing`: device synchronisation and the throughput record both pipelines report;
- `harness`: (a), through `TrainingRun`'s public methods (`snapshot`/`restore` around the
  pruning step);
- `reference`: (b), the DataLoader pipeline;
- `packing`: several harness runs on one device at once;
- `figures`: FLOP/s, datasheet peaks and each row's figures from the timings;
- `projection`: the paper grid's projected device time;
- `cli`: the command (options, the order of the measurements, the printed report, the
  JSON record); `__main__` runs it.
"""

from benchmark.perf.cli import main

__all__ = ["main"]
