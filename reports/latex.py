"""The paper-layout tables as LaTeX (booktabs), the `table.tex` beside the report.

Kept apart from `reports.tables`, which builds the tables as data: this module only
typesets them, so the LaTeX shows the numbers the HTML shows. Imported by
`reports.build` and by the tests.
"""

from __future__ import annotations

from collections.abc import Sequence

from benchmark.stats.ranking import ALPHA
from benchmark.stats.table import DENSE
from reports.tables import Entry, PaperTable


def latex_table(tables: Sequence[PaperTable], reference: str = "fggp") -> str:
    """The paper tables as LaTeX (booktabs): mean ± std, best in bold, ready to paste."""
    parts = [
        "% fggp-bench: final test accuracy (%), mean $\\pm$ std over seeds; best pruning",
        f"% method per column in bold; $^{{*}}$ differs from {_tex(reference)} "
        f"(paired t-test, Holm-corrected, p < {ALPHA:g}); $^{{\\dagger}}$ some runs diverged,"
        " counted at chance accuracy. Needs \\usepackage{booktabs}.",
    ]
    for table in tables:
        header_models = " & ".join(
            f"\\multicolumn{{{count}}}{{c}}{{{_tex(arch)}}}" for _, arch, count in table.models
        )
        levels = " & ".join(f"{100 * c.target_sparsity:g}\\%" for c in table.columns)
        rules, start = [], 2
        for _, _, count in table.models:
            rules.append(f"\\cmidrule(lr){{{start}-{start + count - 1}}}")
            start += count
        body = [f"{_tex(DENSE)} (upper bound) & " + " & ".join(_tex_entry(e) for e in table.dense)]
        body += [
            f"{_tex(m)} & " + " & ".join(_tex_entry(e) for e in entries)
            for m, entries in table.rows
        ]
        parts += [
            f"% initial density {table.init_density:g}",
            f"\\begin{{tabular}}{{l{'c' * len(table.columns)}}}",
            "\\toprule",
            f" & {header_models} \\\\",
            " ".join(rules),
            f"Method & {levels} \\\\",
            "\\midrule",
            f"{body[0]} \\\\",
            "\\midrule",
            *(f"{line} \\\\" for line in body[1:]),
            "\\bottomrule",
            "\\end{tabular}",
            "",
        ]
    return "\n".join(parts)


_TEX_SPECIALS = str.maketrans(
    {
        "\\": r"\textbackslash{}",
        "&": r"\&",
        "%": r"\%",
        "$": r"\$",
        "#": r"\#",
        "_": r"\_",
        "{": r"\{",
        "}": r"\}",
        "~": r"\textasciitilde{}",
        "^": r"\textasciicircum{}",
        "\n": " ",
        "\r": " ",
        "\t": " ",
    }
)
"""Every character LaTeX reads as markup, as text; a line break in a cell would end the row."""


def _tex(text: str) -> str:
    """`text` (a method label, an architecture) typeset as itself: one pass over the
    characters, so the braces of `\\textbackslash{}` are not escaped again."""
    return text.translate(_TEX_SPECIALS)


def _tex_entry(entry: Entry | None) -> str:
    if entry is None:
        return "--"
    std = f" $\\pm$ {entry.std:.2f}" if entry.std is not None else ""
    text = f"{entry.mean:.2f}{std}"
    if entry.best:
        text = f"\\textbf{{{text}}}"
    text += "$^{*}$" if entry.significant else ""
    return text + ("$^{\\dagger}$" if entry.diverged else "")
