"""The report's figures, each rendered to an embedded PNG with its alt text.

Apart from `reports.tables`, so the tables (data, CSVs, LaTeX) never need matplotlib;
both read the runs through `reports.runs`. Figures are built on
`matplotlib.figure.Figure` rather than pyplot: no global state, so the report can be
built in any process (a grid worker, a test) without a display. Imported by
`reports.build` (and by the tests).
"""

from __future__ import annotations

import base64
import functools
import io
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from benchmark.stats import RunKeys, Summary
from benchmark.stats.table import DENSE
from reports.runs import Record, Run, group_runs
from reports.styles import DENSE_STYLE_COLOUR, Style, method_order, method_styles

_DPI = 100
_PLAIN_TEXT = {"text.parse_math": False, "text.usetex": False}
"""Every text of a figure as it is spelled: method labels and data paths are the user's,
and a `$x^$` in one is not a formula (matplotlib's mathtext parser raised on it, and TeX
would on an `&`), whatever the user's matplotlibrc says."""

_P = ParamSpec("_P")
_T = TypeVar("_T")


def _plain_text(draw: Callable[_P, _T]) -> Callable[_P, _T]:
    """Build and render a figure under _PLAIN_TEXT: matplotlib reads it as each text is
    made (titles, legends, tick labels), so the whole figure is built inside it."""

    @functools.wraps(draw)
    def drawn(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        with matplotlib.rc_context(_PLAIN_TEXT):
            return draw(*args, **kwargs)

    return drawn


@dataclass(frozen=True)
class Plot:
    title: str
    alt: str
    data_uri: str


def _render(figure: Figure, title: str, alt: str) -> Plot:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, bbox_inches="tight", metadata={"Software": None})
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return Plot(title, alt, f"data:image/png;base64,{encoded}")


def _line(
    ax: Axes, x: Iterable[float], y: Iterable[float], style: Style, label: str, **extra: Any
) -> None:
    ax.plot(
        x,
        y,
        color=style.colour,
        marker=style.marker,
        linestyle=style.dash,
        label=label,
        markersize=5,
        linewidth=1.6,
        **extra,
    )


# ---------------------------------------------------------------- critical difference


def cd_cliques(ranks: Mapping[str, float], cd: float) -> list[tuple[str, ...]]:
    """Maximal runs of methods (sorted by rank) whose ranks lie within `cd` of each other.

    These are the bars of Demšar's diagram: methods joined by one are not significantly
    different by the Nemenyi test. A run contained in a longer one is not drawn again.
    """
    ordered = sorted(ranks, key=lambda m: (ranks[m], m))
    spans = []
    for i in range(len(ordered)):
        j = i
        while j + 1 < len(ordered) and ranks[ordered[j + 1]] - ranks[ordered[i]] <= cd:
            j += 1
        if j > i and not any(a <= i and j <= b for a, b in spans):
            spans.append((i, j))
    return [tuple(ordered[a : b + 1]) for a, b in spans]


@_plain_text
def cd_diagram(ranks: Mapping[str, float], cd: float | None, styles: Mapping[str, Style]) -> Plot:
    """Demšar's diagram: the rank axis, each method's average rank, the CD and its cliques."""
    k = len(ranks)
    ordered = sorted(ranks, key=lambda m: (ranks[m], m))
    left, right = ordered[: (k + 1) // 2], ordered[(k + 1) // 2 :][::-1]
    rows = max(len(left), len(right))
    figure = Figure(figsize=(8, 1.3 + 0.34 * rows))
    ax = figure.subplots()
    low, high = 1, max(k, 2)
    ax.set_xlim(low - 1.6, high + 1.6)
    ax.set_ylim(-(rows * 0.6 + 0.3), 1.25)
    ax.axis("off")
    ax.hlines(0, low, high, color="black", linewidth=1)
    for tick in range(low, high + 1):
        ax.vlines(tick, 0, 0.12, color="black", linewidth=1)
        ax.text(tick, 0.2, str(tick), ha="center", va="bottom", fontsize=9)
    for side, names in ((-1, left), (1, right)):
        for row, name in enumerate(names):
            y = -(row + 1) * 0.6
            x_text = low - 0.15 if side < 0 else high + 0.15
            colour = styles[name].colour if name in styles else "black"
            ax.plot([ranks[name], ranks[name], x_text], [0, y, y], color=colour, linewidth=1.2)
            ax.text(
                x_text + side * 0.05,
                y,
                f"{name} ({ranks[name]:.2f})",
                ha="right" if side < 0 else "left",
                va="center",
                fontsize=9,
            )
    if cd is not None:
        for row, clique in enumerate(cd_cliques(ranks, cd)):
            y = -0.15 - 0.12 * row
            ax.hlines(
                y, ranks[clique[0]] - 0.03, ranks[clique[-1]] + 0.03, color="black", linewidth=3
            )
        ax.hlines(0.85, low, low + cd, color="black", linewidth=1.5)
        ax.vlines([low, low + cd], 0.8, 0.9, color="black", linewidth=1.5)
        ax.text(low + cd / 2, 0.95, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize=9)
    order = ", ".join(f"{m} {ranks[m]:.2f}" for m in ordered)
    joined = "; ".join(" = ".join(c) for c in cd_cliques(ranks, cd)) if cd is not None else ""
    alt = f"Critical-difference diagram. Average ranks: {order}. " + (
        f"Nemenyi CD {cd:.2f}; not significantly different: {joined or 'none'}." if cd else ""
    )
    title = "Critical-difference diagram: average rank over settings (1 = best); a thick bar "
    title += "joins methods the Nemenyi test does not separate"
    return _render(figure, title, alt)


# ---------------------------------------------------------------- accuracy vs sparsity


@_plain_text
def accuracy_vs_sparsity(summary: Summary, styles: Mapping[str, Style]) -> Plot:
    """Mean with its 95% t-interval band, per model (rows) and initial density (columns)."""
    settings = summary.settings
    models = sorted({s.model.name for s in settings})
    inits = sorted({s.setting.init_density for s in settings}, reverse=True)
    figure = Figure(figsize=(4.2 * len(inits) + 1.8, 3.2 * len(models)), layout="constrained")
    axes = np.atleast_2d(figure.subplots(len(models), len(inits), squeeze=False))
    described = []
    for r, model in enumerate(models):
        for c, init in enumerate(inits):
            ax = axes[r, c]
            here = sorted(
                (s for s in settings if s.model.name == model and s.setting.init_density == init),
                key=lambda s: s.setting.target_sparsity,
            )
            levels = [100 * s.setting.target_sparsity for s in here]
            for method in method_order(m for s in here for m in s.cells):
                points = [(100 * s.setting.target_sparsity, s.cells.get(method)) for s in here]
                present = [(x, cell) for x, cell in points if cell is not None]
                xs = [x for x, _ in present]
                _line(ax, xs, [cell.mean for _, cell in present], styles[method], method)
                band = [(x, cell.ci95) for x, cell in present if cell.ci95]
                if band:
                    ax.fill_between(
                        [x for x, _ in band],
                        [ci[0] for _, ci in band],
                        [ci[1] for _, ci in band],
                        color=styles[method].colour,
                        alpha=0.1,
                        linewidth=0,
                    )
                described.append(
                    f"{model}, init density {init:g}, {method}: "
                    + ", ".join(f"{x:g}% → {cell.mean:.1f}%" for x, cell in present)
                )
            bound = summary.dense_bounds.get(model)
            if bound is not None and levels:
                ax.axhline(
                    bound.mean, color=DENSE_STYLE_COLOUR, linestyle=(0, (2, 2)), label="dense"
                )
            ax.set_xticks(levels)
            ax.set_title(f"{_short(model)}\ninit density {init:g}", fontsize=9)
            ax.set_xlabel("target sparsity (%)")
            ax.set_ylabel("final test accuracy (%)")
            ax.grid(alpha=0.3)
    _legend(figure, axes)
    alt = "Final test accuracy against target sparsity. " + "; ".join(described)
    return _render(figure, "Accuracy vs target sparsity (mean, 95% t-interval band)", alt)


# ---------------------------------------------------------------- per-run histories


@_plain_text
def training_curves(runs: Sequence[Run], keys: RunKeys, styles: Mapping[str, Style]) -> list[Plot]:
    """Mean test accuracy per epoch over seeds, one panel per setting, one figure per model."""
    plots = []
    for group in group_runs(runs, keys):
        model, dense = group.model.name, group.dense
        if not group.settings:
            continue
        inits = sorted({s.init_density for s in group.settings}, reverse=True)
        levels = sorted({s.target_sparsity for s in group.settings})
        figure = Figure(figsize=(3.6 * len(levels) + 1.8, 2.9 * len(inits)), layout="constrained")
        axes = figure.subplots(len(inits), len(levels), squeeze=False)
        for r, init in enumerate(inits):
            for c, level in enumerate(levels):
                ax = axes[r, c]
                labels = group.at(init, level)
                for label in method_order(labels):
                    epochs, mean = _mean_curve(labels[label], "test_acc")
                    _line(ax, epochs, mean, styles[label], label, markevery=_every(epochs))
                if dense:
                    epochs, mean = _mean_curve(dense, "test_acc")
                    ax.plot(
                        epochs, mean, color=DENSE_STYLE_COLOUR, linestyle=(0, (2, 2)), label="dense"
                    )
                ax.set_title(f"init {init:g}, target sparsity {100 * level:g}%", fontsize=9)
                ax.set_xlabel("epoch")
                ax.set_ylabel("test accuracy (%)")
                ax.grid(alpha=0.3)
        _legend(figure, axes)
        alt = (
            f"Test accuracy per epoch for {model}, mean over seeds, one panel per initial "
            f"density ({', '.join(f'{i:g}' for i in inits)}) and target sparsity "
            f"({', '.join(f'{100 * x:g}%' for x in levels)}), one line per method"
            + (" and the dense run." if dense else ".")
        )
        plots.append(_render(figure, f"Training curves: {_short(model)}", alt))
    return plots


def _mean_curve(records: Sequence[Record], key: str) -> tuple[list[int], list[float]]:
    """Per-epoch mean over the runs that reached that epoch (a diverged run stops early)."""
    by_epoch: dict[int, list[float]] = defaultdict(list)
    for record in records:
        for entry in record["history"]:
            if entry.get(key) is not None:
                by_epoch[entry["epoch"]].append(entry[key])
    epochs = sorted(by_epoch)
    return epochs, [statistics.mean(by_epoch[e]) for e in epochs]


def _every(points: Sequence[Any]) -> int:
    return max(1, len(points) // 10)


@_plain_text
def sparsity_schedules(runs: Sequence[Run], keys: RunKeys) -> tuple[Plot | None, list[str]]:
    """The sparsity each setting's runs actually went through, and where runs disagree.

    Every method of a setting follows the same schedule by construction; plotting one line
    per setting is honest only if the recorded schedules agree, so they are compared and
    any disagreement is returned for the report to show.
    """
    disagreements = []
    panels = []
    for group in group_runs(runs, keys):
        model = group.model.name
        for init in sorted({s.init_density for s in group.settings}, reverse=True):
            lines = []
            for setting in (s for s in group.settings if s.init_density == init):
                level = setting.target_sparsity
                records = [r for rs in group.settings[setting].values() for r in rs]
                schedules = {_schedule(r) for r in records}
                if len(schedules) > 1:
                    disagreements.append(
                        f"{model} init {init:g} target {level:g}: {len(schedules)} different "
                        "recorded schedules"
                    )
                lines.append((level, _schedule(records[0]), records[0]))
            panels.append((model, init, lines))
    if not panels:
        return None, disagreements
    figure = Figure(figsize=(4.4 * min(len(panels), 3) + 0.5, 3.0 * -(-len(panels) // 3)))
    axes = figure.subplots(-(-len(panels) // 3), min(len(panels), 3), squeeze=False)
    for ax, (model, init, lines) in zip(axes.flat, panels, strict=False):
        for i, (level, schedule, record) in enumerate(lines):
            epochs = record["config"]["epochs"]
            xs = [0.0] + [epoch for epoch, _ in schedule] + [float(epochs)]
            start = 1 - record["config"]["init_density"]
            ys = [start] + [1 - density for _, density in schedule]
            ys.append(ys[-1])
            ax.step(
                xs,
                [100 * y for y in ys],
                where="post",
                label=f"target {100 * level:g}%",
                linestyle=("-", "--", ":", "-.")[i % 4],
                color=("#0072B2", "#D55E00", "#009E73", "#CC79A7")[i % 4],
            )
        ax.set_title(f"{_short(model)}\ninit density {init:g}", fontsize=9)
        ax.set_xlabel("epoch")
        ax.set_ylabel("sparsity (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    alt = (
        "Sparsity against training epoch as recorded by the runs' pruning steps, one panel "
        "per model and initial density, one step line per target sparsity."
    )
    return _render(figure, "Sparsity schedule followed", alt), disagreements


def _schedule(record: Record) -> tuple[tuple[float, float], ...]:
    """The (epoch, density) steps of a run: its mask updates that pruned weights, net.

    An update that pruned nothing kept the density: regrowth methods log one at each of
    their updates between the pruning steps that every method shares.
    """
    return tuple(
        (round(s["epoch"], 9), round(s["density"], 12))
        for s in record["prune_schedule"]
        if s.get("pruned") != 0
    )


@_plain_text
def layer_densities(runs: Sequence[Run], keys: RunKeys, styles: Mapping[str, Style]) -> list[Plot]:
    """Final density of every prunable layer per method, at each model's hardest setting.

    The hardest setting (highest target, densest start) is where methods differ most in
    where they leave weights; the mean over seeds is shown on a log axis.
    """
    plots = []
    for group in group_runs(runs, keys):
        model = group.model.name
        if not group.settings:
            continue
        hardest = max(group.settings, key=lambda s: (s.target_sparsity, s.init_density))
        init, level = hardest.init_density, hardest.target_sparsity
        figure = Figure(figsize=(10, 3.6))
        ax = figure.subplots()
        names: list[str] = []
        for label in method_order(group.settings[hardest]):
            records = group.settings[hardest][label]
            names = [layer["name"] for layer in records[0]["layers"]]
            mean = np.mean([[layer["density"] for layer in r["layers"]] for r in records], axis=0)
            _line(ax, range(len(names)), np.maximum(mean, 1e-4), styles[label], label, markevery=1)
        ax.set_yscale("log")
        step = max(1, len(names) // 25)
        ax.set_xticks(range(0, len(names), step))
        ax.set_xticklabels([_layer_label(n) for n in names[::step]], rotation=70, fontsize=7)
        ax.set_ylabel("final density (log)")
        ax.set_title(
            f"{_short(model)}: init density {init:g}, target sparsity {100 * level:g}%", fontsize=9
        )
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8, ncol=3)
        alt = (
            f"Final density of each of the {len(names)} prunable layers of {model} at init "
            f"density {init:g} and target sparsity {100 * level:g}%, mean over seeds, one line "
            "per method, log scale (zero shown at 1e-4)."
        )
        plots.append(_render(figure, f"Per-layer final density: {_short(model)}", alt))
    return plots


def _layer_label(name: str) -> str:
    return name.removesuffix(".weight")


def _short(model: str) -> str:
    return model.replace(" width=", " w=").replace(" epochs=", " e=")


def _legend(figure: Figure, axes: np.ndarray) -> None:
    handles, labels = {}, []
    for ax in np.asarray(axes).flat:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            if label not in handles:
                handles[label] = handle
                labels.append(label)
    figure.legend(
        [handles[label] for label in labels], labels, loc="outside right center", fontsize=8
    )


def styles_for(summary: Summary, runs: Sequence[Run], keys: RunKeys) -> dict[str, Style]:
    """A style for every method label of the statistics and of the grid, dense aside."""
    labels = {m for s in summary.settings for m in s.cells}
    labels |= {keys.of_config(run.config)[1] for run in runs}
    return method_styles(labels - {DENSE})
