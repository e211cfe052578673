"""Assemble the report folder: summary.json, results.csv, table.csv, regrowth.csv, table.tex
and report.html.

The one place that writes files: the statistics come in already computed
(`benchmark.stats.summarise`), the tables and figures from `reports.tables`,
`reports.latex` and `reports.plots`; this module lays them out, so the HTML, the CSVs
and the LaTeX table say the same thing. The set is written into a fresh folder and
published by swapping the `report` link to it in one rename: a reader (or a report
interrupted half-way) sees the old set or the new one, never summary.json of one state
beside report.html of another. `build_report` and `ReportFiles` are public through
`reports` (run_all.py); nothing else imports this module but the tests.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import os
import re
import secrets
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from benchmark.atomic import write_bytes_atomic, write_json_atomic
from benchmark.grid.store import FAILED
from benchmark.stats import RunKeys, Summary
from benchmark.stats.claims import FAMILY_ALPHA
from benchmark.stats.ranking import ALPHA
from benchmark.stats.table import DENSE
from reports import plots
from reports.latex import latex_table
from reports.runs import Run, run_keys
from reports.styles import method_order
from reports.tables import (
    REGROWTH_COLUMNS,
    RUN_COLUMNS,
    TABLE_COLUMNS,
    Entry,
    PaperTable,
    RegrowthRow,
    aggregate_rows,
    cost_rows,
    pairwise_rows,
    paper_tables,
    rank_table,
    regrowth_csv_row,
    regrowth_rows,
    run_rows,
)

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    summary: Path
    results_csv: Path
    table_csv: Path
    regrowth_csv: Path
    """Weights grown per setting and method; only its header when no run grew any."""
    latex: Path


def build_report(
    out_dir: Path,
    *,
    title: str,
    summary: Summary,
    runs: Sequence[Run],
    command: str,
    description: str | None = None,
    stop_point: Callable[[], None] = lambda: None,
) -> ReportFiles:
    """Write the report of `runs` (the whole grid, finished or not) as the folder `out_dir`.

    `stop_point` is called between the files and before the set is published; an
    exception from it (a deferred Ctrl-C) abandons the new set and keeps the old one.
    """
    out_dir = Path(out_dir)
    with published(out_dir) as staging:
        _write_report(staging, title, summary, runs, command, description, stop_point)
        stop_point()
    return _files(out_dir)


def _files(folder: Path) -> ReportFiles:
    return ReportFiles(
        html=folder / "report.html",
        summary=folder / "summary.json",
        results_csv=folder / "results.csv",
        table_csv=folder / "table.csv",
        regrowth_csv=folder / "regrowth.csv",
        latex=folder / "table.tex",
    )


def _write_report(
    folder: Path,
    title: str,
    summary: Summary,
    runs: Sequence[Run],
    command: str,
    description: str | None,
    stop_point: Callable[[], None],
) -> None:
    keys = run_keys(runs)
    rows = run_rows(runs, keys)
    tables = paper_tables(summary)
    regrowth = regrowth_rows(runs, keys)
    files = _files(folder)
    write_json_atomic(files.summary, summary.as_dict())
    _write_csv(files.results_csv, RUN_COLUMNS, rows)
    _write_csv(files.table_csv, TABLE_COLUMNS, aggregate_rows(summary))
    _write_csv(files.regrowth_csv, REGROWTH_COLUMNS, [regrowth_csv_row(r) for r in regrowth])
    write_bytes_atomic(files.latex, latex_table(tables, summary.reference).encode())
    stop_point()
    html = render(
        title=title,
        description=description,
        summary=summary,
        runs=runs,
        keys=keys,
        rows=rows,
        tables=tables,
        regrowth=regrowth,
        command=command,
    )
    write_bytes_atomic(files.html, html.encode())


@contextlib.contextmanager
def published(link: Path) -> Iterator[Path]:
    """A fresh folder beside `link` to fill; on success `link` points at it, atomically.

    `link` becomes a symbolic link to a hidden sibling folder, replaced by one rename; the
    folder it pointed to before is removed afterwards. An older `link` that is a real
    folder (reports before this scheme) is moved aside first. On failure or interrupt the
    new folder is removed and `link` is left as it was. os.mkdir honours the umask, so a
    group-shared store stays readable by the group.
    """
    parent = link.parent
    parent.mkdir(parents=True, exist_ok=True)
    stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{secrets.token_hex(3)}"
    staging = parent / f".{link.name}-{stamp}"
    os.mkdir(staging)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    previous = _target(link)
    if link.is_dir() and not link.is_symlink():
        previous = parent / f".{link.name}-before-{stamp}"
        os.rename(link, previous)
    pointer = parent / f".{link.name}-link-{stamp}"
    os.symlink(staging.name, pointer)
    os.replace(pointer, link)
    if previous is not None and previous != staging:
        shutil.rmtree(previous, ignore_errors=True)


def _target(link: Path) -> Path | None:
    """The folder a report link points to now, if it is one of ours: a staging folder by
    its name, a real folder beside the link. It is removed once the new set is published,
    so a link planted to anything else (`.git`, where the store is the working directory)
    must not be taken for one."""
    if not link.is_symlink():
        return None
    target = link.parent / os.readlink(link)
    ours = re.fullmatch(rf"\.{re.escape(link.name)}-\d{{8}}-\d{{6}}-\d+-[0-9a-f]{{6}}", target.name)
    if ours and target.parent == link.parent and target.is_dir() and not target.is_symlink():
        return target
    return None


def render(
    *,
    title: str,
    description: str | None,
    summary: Summary,
    runs: Sequence[Run],
    keys: RunKeys,
    rows: list[dict[str, Any]],
    tables: list[PaperTable],
    regrowth: Sequence[RegrowthRow],
    command: str,
) -> str:
    styles = plots.styles_for(summary, runs, keys)
    ranks = dict(summary.friedman.average_ranks)  # the ranks the test and its CD use
    schedule_plot, disagreements = plots.sparsity_schedules(runs, keys)
    seeds = sorted({row["seed"] for row in rows})
    context = {
        "title": title,
        "generated": time.strftime("%Y-%m-%d %H:%M %Z"),
        "css": (TEMPLATES / "report.css").read_text(encoding="utf-8"),
        "summary": summary,
        "reference": summary.reference,
        "alpha": f"{ALPHA:g}",
        "grid": _grid_facts(rows, runs, description, seeds),
        "paper_tables": tables,
        "notes": [f"{s.name}: {s.note}" for s in summary.settings if s.note],
        "ranks": rank_table(summary),
        "pairwise": pairwise_rows(summary),
        "setting_tests": list(summary.contrasts.values()),
        "family_alpha": FAMILY_ALPHA,
        "cd_plot": plots.cd_diagram(ranks, summary.nemenyi.cd, styles) if len(ranks) >= 2 else None,
        "sparsity_plot": plots.accuracy_vs_sparsity(summary, styles) if summary.settings else None,
        "curve_plots": plots.training_curves(runs, keys, styles),
        "schedule_plot": schedule_plot,
        "schedule_disagreements": disagreements,
        "layer_plots": plots.layer_densities(runs, keys, styles),
        "regrowth": regrowth,
        "cost": cost_rows(runs, keys),
        "run_rows": rows,
        "problems": [row for row in rows if row["status"] != "completed"],
        "environments": _environments(runs),
        "version_mix": summary.version_mix(),
        "command": command,
    }
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["g"] = lambda value: f"{value:g}"
    environment.globals.update(
        num=_num,
        pval=_pval,
        interval=_interval,
        ratio=_ratio,
        percent=_percent,
        count=_count,
        entry_text=lambda entry: _entry_text(entry, len(seeds)),
        short_setting=_short_settings(summary),
    )
    return environment.get_template("report.html.j2").render(context)


def _grid_facts(
    rows: list[dict[str, Any]], runs: Sequence[Run], description: str | None, seeds: list[int]
) -> dict[str, Any]:
    completed = [run.record for run in runs if run.completed]
    seconds = sum(record["cost"]["wall_seconds"] for record in completed)
    on_gpu = any((record.get("env") or {}).get("cuda") for record in completed)
    data = sorted(
        {
            f"{r['data']['name']}: {r['data']['n_train']:,} train / {r['data']['n_test']:,} test "
            f"images, {r['data']['num_classes']} classes (SHA-256 {r['data']['fingerprint'][:12]}…)"
            for r in completed
        }
    )
    hardware = sorted(
        {
            f"{r['env']['device']}"
            + (f" (CUDA {r['env']['cuda']})" if r["env"].get("cuda") else "")
            for r in completed
        }
    )
    return {
        "description": description,
        "expected": len(rows),
        "completed": len(completed),
        "failed": sum(row["status"] in FAILED for row in rows),
        "missing": sum(row["status"] not in (*FAILED, "completed") for row in rows),
        "methods": method_order(row["method"] for row in rows),
        "models": sorted(
            {
                f"{r['arch']} (width {r['width']:g}, {r['epochs']} epochs, {r['dataset']})"
                for r in rows
            }
        ),
        "targets": [
            f"{100 * t:g}%"
            for t in sorted({r["target_sparsity"] for r in rows if r["method"] != DENSE})
        ],
        "inits": [f"{d:g}" for d in sorted({r["init_density"] for r in rows}, reverse=True)],
        "seeds": seeds,
        "data": data or ["no completed run"],
        "hardware": hardware or ["no completed run"],
        "compute": (
            f"{seconds / 3600:.2f} {'GPU' if on_gpu else 'CPU'}-hours "
            f"({seconds / 60:.1f} min summed over {len(completed)} completed runs; "
            "runs in parallel overlap in wall-clock time)"
        ),
    }


def _environments(runs: Sequence[Run]) -> list[tuple[dict[str, Any], int]]:
    fields = ("torch", "torchvision", "numpy", "cuda", "device", "python", "threads", "git_commit")
    executed = ("precision", "compile")
    counts: Counter[tuple[Any, ...]] = Counter()
    for run in runs:
        if run.completed:
            env = run.record.get("env") or {}
            execution = run.record.get("execution") or {}
            key = (
                *(env.get(f) for f in fields),
                *(execution.get(f) for f in executed),
                run.record.get("harness_version"),
            )
            counts[key] += 1
    return [
        (dict(zip((*fields, *executed, "harness_version"), key, strict=True)), count)
        for key, count in sorted(counts.items(), key=lambda item: -item[1])
    ]


def _short_settings(summary: Summary) -> Callable[[str], str]:
    """A setting's name as a column head: arch (model where archs repeat), init, target."""
    settings = [s.setting for s in summary.settings]
    ambiguous = len({s.model.name for s in settings}) > len({s.model.arch for s in settings})
    names = {}
    for s in settings:
        where = s.model.name if ambiguous else s.model.arch
        names[s.name] = f"{where}, init {s.init_density:g}, {100 * s.target_sparsity:g}%"
    return lambda name: names.get(name, name)


def _num(value: float | None, digits: int) -> str:
    """A number to `digits` decimals; "—" for none (or for an infinite F, which
    summary.json also stores as null)."""
    return "—" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _pval(p: float | None) -> str:
    if p is None:
        return "—"
    return "< 0.0001" if p < 1e-4 else f"{p:.4f}"


def _interval(ci: Sequence[float] | None, digits: int = 2) -> str:
    return "—" if not ci else f"[{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}×"


def _percent(value: float | None, digits: int) -> str:
    """A number that already is a percentage."""
    return "—" if value is None else f"{value:.{digits}f}%"


def _count(value: float) -> str:
    """A mean count of weights: whole numbers as such, with thousands separated."""
    return f"{value:,.0f}" if value == round(value) else f"{value:,.1f}"


def _entry_text(entry: Entry | None, seeds: int) -> str:
    if entry is None:
        return "—"
    text = f"{entry.mean:.2f}" + (f" ± {entry.std:.2f}" if entry.std is not None else "")
    text += f" (n={entry.n})" if entry.n != seeds else ""
    return text + (f" ({entry.diverged} diverged, at chance)" if entry.diverged else "")


def _write_csv(path: Path, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_cell(row.get(k)) for k in columns})
    write_bytes_atomic(path, buffer.getvalue().encode())


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a cell as a formula (OWASP, CSV injection)."""


def _csv_cell(value: Any) -> Any:
    """A value as a CSV cell: text a spreadsheet would run as a formula (a method label of
    the user's, an error message, a data path) behind a single quote, numbers as numbers."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return f"'{value}"
    return value
