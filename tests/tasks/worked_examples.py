"""Reading the worked examples of the bit-vector tasks' docstrings back as numbers (shared by their tests)."""

from __future__ import annotations

import re


def docstring_table(module, rows: str = r"[xy]\[\d+\]") -> dict[str, list[float]]:
    """The rows named by the pattern ``rows`` (x[i], y[i]) of the worked example in ``module``'s docstring,
    as lists of numbers."""
    table = {}
    for line in module.__doc__.splitlines():
        match = re.match(rf"    ({rows})\s+(.*)", line)
        if match:
            values = []
            for token in match.group(2).split():
                try:
                    values.append(float(token.replace("−", "-")))
                except ValueError:
                    break  # the comment at the end of the row
            table[match.group(1)] = values
    return table
