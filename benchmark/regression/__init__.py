"""The regression check: re-measure a short preset and compare it with a committed reference.

`gate.Gate` is what run_all calls (`--check`, `--update-reference`); `reference` holds
the file format and the measurement of a grid's cells; `rule` is the statistical
pass/fail rule as pure functions. docs/regression.md states the rule for readers.
Imported only by run_all.py; it reads the grid's presets, the statistics' cells and the
result record, never the report.
"""

from benchmark.regression.gate import Gate, Verdict, judge
from benchmark.regression.reference import Cell, Reference, measure, read

__all__ = ["Cell", "Gate", "Reference", "Verdict", "judge", "measure", "read"]
