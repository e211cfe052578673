"""`run_all.py --check REFERENCE` and `--update-reference REFERENCE`: the regression gate.

`Gate.open` runs before anything is trained, so a missing, corrupt or mismatched
reference (or missing data) is a one-line error that costs no compute. It also takes the
exact tier: every built-in method's selection fingerprinted (`selection`) and, for a
check, compared with the reference's; a method that selects differently fails the check
there (`Gate.selection_changed`), before any training. `Gate.close`
runs after the grid has run (every run redone: a check measures the code as it is now)
and its results are stored, so nothing it decides can lose them. A check prints one
table of every cell and returns 0 (pass) or 1 (a cell regressed, a run failed or a
final sparsity is not exact); an update refuses to write a reference from a measurement
with problems, and otherwise rewrites the file in place for `git diff` to review.
"""

from __future__ import annotations

import dataclasses
import shlex
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmark.cli import ensure_writable
from benchmark.config import RunConfig
from benchmark.errors import EXIT_USER_ERROR, UserError
from benchmark.grid.presets import Preset
from benchmark.regression import reference as ref
from benchmark.regression import rule
from benchmark.regression import selection as exact

_ENV_FIELDS = ("torch", "cuda", "device", "threads", "precision")


@dataclasses.dataclass(frozen=True)
class Verdict:
    reference: ref.Cell
    now: ref.Cell
    change: float | None
    """Mean accuracy now minus the reference mean, in points."""
    allowed: float | None
    """The drop the noise allows (positive, in points)."""
    noise: rule.Noise | None
    """The cell's noise sd and the t quantile behind `allowed`."""
    problems: tuple[str, ...]
    """Failed or missing runs, and final sparsities that are not exact."""

    @property
    def status(self) -> str:
        if self.problems or self.change is None or self.allowed is None:
            return "FAILED"
        return "REGRESSED" if self.change < -self.allowed else "ok"

    @property
    def reasons(self) -> list[str]:
        if self.status != "REGRESSED":
            return list(self.problems)
        return [f"accuracy {self.change:+.2f} points, more than the {self.allowed:.2f} allowed"]


NO_NOISE_ESTIMATE = (
    "the reference has a cell of a single run, so it cannot estimate that cell's noise "
    "(re-measure it with --seeds 2 or more; docs/regression.md advises 6 or more)"
)


NoiseRule = Callable[[Sequence[rule.Spread]], list[rule.Noise | None]]
"""Every cell's spreads (reference and now) -> each cell's noise, None where it has none."""


def spreads(reference: ref.Reference, cells: Sequence[ref.Cell]) -> list[rule.Spread]:
    """What the rule reads of each reference cell and of its measurement now."""
    now = {cell.key: cell for cell in cells}
    return [
        rule.Spread(
            c.std,
            c.n,
            rule.binomial_sd(c.mean, c.n_test),
            now[c.key].std if c.key in now else None,
            now[c.key].n if c.key in now else 0,
        )
        for c in reference.cells
    ]


def judge(
    reference: ref.Reference,
    cells: Sequence[ref.Cell],
    noise_rule: NoiseRule = rule.two_sample_noise,
) -> list[Verdict]:
    """Every reference cell against its measurement now.

    `noise_rule` is the rule's noise model (`rule.two_sample_noise`); the simulation of
    the rule passes others to compare. A cell without a degree of freedom has no noise
    estimate and is FAILED, saying why.
    """
    noises = noise_rule(spreads(reference, cells))
    now = {cell.key: cell for cell in cells}
    verdicts = []
    for expected, noise in zip(reference.cells, noises, strict=True):
        cell = now[expected.key]
        problems = list(cell.problems)
        if cell.sparsity is not None and cell.sparsity != expected.sparsity:
            problems.append(f"final sparsity {cell.sparsity!r}, reference {expected.sparsity!r}")
        if cell.data is not None and cell.data != expected.data:
            problems.append(
                f"trained on other data than the reference (fingerprint {cell.data[:12]}, "
                f"reference {expected.data[:12]})"
            )
        if noise is None:
            problems.append(NO_NOISE_ESTIMATE)
        change = allowed = None
        if cell.mean is not None:
            change = cell.mean - expected.mean
            if noise is not None:
                allowed = rule.allowed_drop(noise.sd, expected.n, cell.n, noise.critical)
        verdicts.append(Verdict(expected, cell, change, allowed, noise, tuple(problems)))
    return verdicts


RULE_LINE = (
    "rule: a cell fails when its mean is below the reference mean by more than "
    "t*s*sqrt(1/n_ref + 1/n_now), s = max(the cell's sd over its runs then and now, "
    "binomial sd), t = Student t at one-sided {alpha}/{m} on n_ref + n_now - 2 df; "
    "or when a run failed or its final sparsity is not exact"
)


def format_table(verdicts: Sequence[Verdict]) -> str:
    lines = [RULE_LINE.format(alpha=rule.ALPHA, m=len(verdicts))]
    by_setting: dict[str, list[Verdict]] = {}
    for verdict in verdicts:
        by_setting.setdefault(verdict.reference.setting, []).append(verdict)
    width = max(len("method"), *(len(v.reference.method) for v in verdicts))
    header = (
        f"  {'method':<{width}}  {'reference':>18}  {'now':>10}  {'change':>7}  "
        f"{'allowed':>7}  {'s':>5}  {'t':>5}  {'df':>5}  {'sparsity':>8}  verdict"
    )
    for setting, rows in by_setting.items():
        lines += ["", setting, header]
        for v in rows:
            expected, now = v.reference, v.now
            sd = f" ± {expected.std:.2f}" if expected.std is not None else ""
            reference_text = f"{expected.mean:.2f}{sd} ({expected.n})"
            now_text = f"{now.mean:.2f} ({now.n})" if now.mean is not None else "-"
            change = f"{v.change:+.2f}" if v.change is not None else "-"
            allowed = f"-{v.allowed:.2f}" if v.allowed is not None else "-"
            noise = (
                f"{v.noise.sd:>5.2f}  {v.noise.critical:>5.2f}  {v.noise.dof:>5.1f}"
                if v.noise is not None
                else f"{'-':>5}  {'-':>5}  {'-':>5}"
            )
            sparsity = f"{now.sparsity:.6f}" if now.sparsity is not None else "-"
            lines.append(
                f"  {expected.method:<{width}}  {reference_text:>18}  {now_text:>10}  "
                f"{change:>7}  {allowed:>7}  {noise}  {sparsity:>8}  {v.status}"
            )
            lines += [f"      {reason}" for reason in v.reasons]
            if now.method_source != expected.method_source:
                lines.append("      (its method file changed since the reference was measured)")
    return "\n".join(lines)


def format_selection(expected: dict[str, str] | None, now: dict[str, str]) -> str:
    """The exact tier's lines: which methods select as the reference says, which not."""
    if expected is None:
        return (
            "exact tier skipped: the reference has no selection fingerprints (an older "
            "file); --update-reference adds them"
        )
    changed = exact.changed(expected, now)
    if not changed:
        return f"exact tier passed: {len(now)} methods select exactly as in the reference"
    lines = [f"exact tier FAILED: the selection of {', '.join(changed)} changed"]
    for label in changed:
        then = expected.get(label, "none")[:16]
        lines.append(
            f"  {label}: fingerprint {then} in the reference, {now.get(label, 'none')[:16]} now"
        )
    lines.append(
        "  nothing was trained; a change meant to alter what a method selects is "
        "re-measured with --update-reference (docs/regression.md)"
    )
    return "\n".join(lines)


def describe_environment(environment: Mapping[str, Any]) -> str:
    return ", ".join(f"{f} {environment[f]}" for f in _ENV_FIELDS if environment.get(f))


class Gate:
    """One check or update around one grid invocation of run_all."""

    def __init__(
        self,
        mode: str,
        path: Path,
        preset: Preset,
        configs: Sequence[RunConfig],
        baseline: ref.Reference | None,
        command: str,
    ) -> None:
        self.mode, self.path, self.preset, self.configs = mode, path, preset, configs
        self.baseline = baseline
        self.command = command
        self.started = time.perf_counter()
        cells = ref.plan_cells(configs).values()
        methods = exact.methods_of((ref.method_label(config), config) for config, _ in cells)
        self.fingerprints = exact.fingerprints(methods)
        """The exact tier's fingerprints of this code (the same in both modes)."""

    @classmethod
    def open(
        cls,
        preset: Preset,
        configs: Sequence[RunConfig],
        *,
        check: Path | None,
        update: Path | None,
        report_only: bool,
        grid_words: Sequence[str],
    ) -> Gate | None:
        """None without a reference to check or update; else a gate whose inputs are sound.

        `grid_words` is the command that runs this grid (`grid_command`): the reference
        records it, with `--update-reference`, as the way to measure it again.
        """
        if check is None and update is None:
            return None
        _require_data(configs)
        command = shlex.join([*grid_words, "--update-reference", str(check or update)])
        if check is not None:
            baseline = ref.read(check)
            baseline.require_grid(preset.name, configs)
            if _no_noise_estimate(baseline.cells):
                raise UserError(f"{check}: {NO_NOISE_ESTIMATE}")
            print(f"regression check of preset {preset.name} against {check}")
            gate = cls("check", check, preset, configs, baseline, command)
            print(format_selection(baseline.selection, gate.fingerprints))
            return gate
        path = update
        if report_only:
            raise UserError("--update-reference measures anew; it cannot use --report-only")
        ensure_writable(path.parent)
        print(f"measuring the reference {path} (preset {preset.name}): every run is redone")
        gate = cls("update", path, preset, configs, _previous(path, preset, configs), command)
        if gate.baseline is not None and gate.baseline.selection is not None:
            changed = exact.changed(gate.baseline.selection, gate.fingerprints)
            if changed:
                print(f"new selection fingerprints (for review): {', '.join(changed)}")
        return gate

    @property
    def selection_changed(self) -> bool:
        """A check whose exact tier failed: run_all stops there, exit 1, nothing trained."""
        expected = self.baseline.selection if self.baseline is not None else None
        return self.mode == "check" and bool(
            expected is not None and exact.changed(expected, self.fingerprints)
        )

    def close(self, records: Mapping[str, Mapping[str, Any] | None]) -> int:
        """Judge (check) or write (update) after the grid ran; the exit code of run_all."""
        seconds = time.perf_counter() - self.started
        cells = ref.measure(self.configs, records)
        clean = [r for r in records.values() if r is not None and r.get("status") == "completed"]
        environment = ref.environment_of(clean)
        print()
        if self.mode == "check":
            return self._check(cells, environment, seconds)
        return self._update(cells, clean, seconds)

    def _check(self, cells: list[ref.Cell], environment: dict[str, Any], seconds: float) -> int:
        baseline = self.baseline
        measured = baseline.measured
        then = describe_environment(measured.get("environment", {}))
        now = describe_environment(environment)
        same = "  (the same: expect identical numbers)" if then == now else ""
        print(f"reference measured {measured.get('at')} with {then}")
        print(f"this check: {now}{same}")
        verdicts = judge(baseline, cells)
        print(format_table(verdicts))
        failed = [v for v in verdicts if v.status != "ok"]
        print(
            f"\nregression check {'FAILED' if failed else 'passed'}: "
            f"{len(verdicts) - len(failed)} of {len(verdicts)} cells ok ({seconds:.0f} s)"
        )
        for v in failed:
            print(f"  {v.status}: {v.reference.method} in {v.reference.setting}: {v.reasons[0]}")
        return 1 if failed else 0

    def _update(
        self, cells: list[ref.Cell], records: list[Mapping[str, Any]], seconds: float
    ) -> int:
        broken = [c for c in cells if c.problems or c.mean is None]
        if broken:
            print(f"reference NOT written: {len(broken)} cells have problems", file=sys.stderr)
            for cell in broken:
                print(f"  {cell.method} in {cell.setting}: {cell.problems[0]}", file=sys.stderr)
            return 1
        if _no_noise_estimate(cells):
            print(f"reference NOT written: {NO_NOISE_ESTIMATE}", file=sys.stderr)
            return 1
        new = ref.build(
            self.path, self.preset.name, cells, records, seconds, self.command, self.fingerprints
        )
        if self.baseline is not None:
            verdicts = judge(self.baseline, cells)
            print("the new measurement judged against the old reference (for review):")
            print(format_table(verdicts) + "\n")
        try:
            new.write()
        except UserError as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_USER_ERROR
        print(
            f"wrote {self.path}: {len(cells)} cells, measured in {seconds:.0f} s; "
            f"review it with: git diff {self.path}"
        )
        return 0


def _previous(path: Path, preset: Preset, configs: Sequence[RunConfig]) -> ref.Reference | None:
    """The reference being replaced, if it is one of this grid (for the review table)."""
    if not path.exists():
        return None
    try:
        old = ref.read(path)
    except UserError as error:
        print(f"note: replacing a file that is not a valid reference ({error})")
        return None
    if old.preset != preset.name:
        raise UserError(
            f"{path} is the reference of preset {old.preset!r}, not {preset.name!r}; "
            "refusing to overwrite it (delete it first if that is what you want)"
        )
    try:
        old.require_grid(preset.name, configs)
    except UserError as error:
        print(f"note: the old reference is not comparable: {error}")
        return None
    return old


def _no_noise_estimate(cells: Sequence[ref.Cell]) -> bool:
    """A cell of one run: the check's runs are of the same seeds, so that cell would have
    no degree of freedom to estimate its noise with."""
    return any(c.n < 2 for c in cells)


def _require_data(configs: Sequence[RunConfig]) -> None:
    """A regression check without its data cannot pass or fail: say so before running."""
    for dataset in sorted({c.dataset for c in configs}):
        if dataset.startswith("npz:") and not Path(dataset[4:]).expanduser().is_file():
            raise UserError(f"the data of this check is missing: {dataset[4:]} not found")
