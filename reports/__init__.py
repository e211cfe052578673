"""The HTML report and its tables: what a grid's results say, in one self-contained file.

The package's public face: `build_report` writes the report folder of a grid's `Run`s
and their statistics, `ReportFiles` names what it wrote. run_all.py and the tests import
these three from here; the modules behind them (runs, tables, latex, plots, styles,
build, browser) are the package's own.
"""

from reports.build import ReportFiles, build_report
from reports.runs import Run

__all__ = ["ReportFiles", "Run", "build_report"]
