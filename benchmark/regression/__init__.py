"""The regression check: re-measure a short preset and compare it with a committed reference.

`gate.Gate` is what run_all calls (`--check`, `--update-reference`); `reference` holds
the file format and the measurement of a grid's cells; `selection` is the exact tier
(every built-in method's selection fingerprinted on fixed inputs); `rule` is the
statistical pass/fail rule of the accuracy tier as pure functions, and `simulate`
measures its false alarms and power. docs/regression.md states both tiers for readers.
Imported only by run_all.py; it reads the grid's presets, the statistics' cells, the
result record and, for the exact tier, the methods and the pruning controller, never
the report.
"""

from benchmark.regression.gate import Gate, Verdict, judge
from benchmark.regression.reference import Cell, Reference, measure, read

__all__ = ["Cell", "Gate", "Reference", "Verdict", "judge", "measure", "read"]
