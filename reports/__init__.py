"""The HTML report and its tables: what a grid's results say, in one self-contained file."""

from reports.build import ReportFiles, build_report
from reports.tables import Run

__all__ = ["ReportFiles", "Run", "build_report"]
