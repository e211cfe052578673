"""One look per method across every figure: colour, marker and dash, so a method is the
same line in each plot and still tells itself apart when printed in greyscale.

Also the one order of methods (`method_order`) every table and figure lists them in.
Imported by the other modules of `reports` and by the tests; imports nothing of theirs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Okabe-Ito: distinguishable for the common colour-vision deficiencies.
_PALETTE = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#F0E442",
    "#000000",
)
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
_DASHES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 3)), (0, (8, 2)))
_KNOWN = ("fggp", "magnitude", "gradient", "annealed_hybrid", "random", "taylor")
DENSE_STYLE_COLOUR = "#555555"


@dataclass(frozen=True)
class Style:
    colour: str
    marker: str
    dash: object


def method_styles(labels: Iterable[str]) -> dict[str, Style]:
    """A style per method label; the built-in methods keep theirs whatever else is shown.

    A label with parameters, e.g. "fggp(rate=0.3)", gets its own slot: two variants of a
    method in one report must not share a line style.
    """
    labels = sorted(set(labels), key=_order)
    taken = {_KNOWN.index(label) for label in labels if label in _KNOWN}
    free = (i for i in range(len(_PALETTE) * len(_MARKERS)) if i not in taken)
    styles = {}
    for label in labels:
        slot = _KNOWN.index(label) if label in _KNOWN else next(free)
        styles[label] = Style(
            _PALETTE[slot % len(_PALETTE)],
            _MARKERS[(slot + slot // len(_PALETTE)) % len(_MARKERS)],
            _DASHES[slot % len(_DASHES)],
        )
    return styles


def method_order(labels: Iterable[str]) -> list[str]:
    """FGGP first, then the paper's baselines, then anything else alphabetically."""
    return sorted(set(labels), key=_order)


def _order(label: str) -> tuple[int, str]:
    base = label.split("(", 1)[0]
    return (_KNOWN.index(base) if base in _KNOWN else len(_KNOWN), label)
