"""What a spreadsheet would run in a CSV file the product wrote: the cells it sees when it
reads the file with `,` or with `;` as separator (a semicolon locale), and each field's
`;`-split pieces. Used by the CSV tests and the exports' browser test."""

from __future__ import annotations

import csv
import io
import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
"""A cell that is a number (a negative count, say) is a value, not a formula."""


def _runs(cell: str) -> bool:
    return cell.lstrip(' "').startswith(FORMULA_STARTS) and not NUMBER.match(cell)


def formula_cells(text: str) -> list[str]:
    """Every cell or `;`-split piece of a field in `text` that a spreadsheet would run."""
    found: list[str] = []
    for delimiter in (",", ";"):
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            found += [cell for cell in row if _runs(cell)]
    for row in csv.reader(io.StringIO(text, newline="")):
        found += [piece for cell in row for piece in cell.split(";")[1:] if _runs(piece)]
    return found


def assert_no_formula_cells(text: str) -> None:
    assert formula_cells(text) == [], text
