"""Values written into a spreadsheet export (Excel or CSV) are made formula-safe here: text
that a spreadsheet would run as a formula or a DDE command (OWASP "CSV injection": a value
starting with = + - @, a tab or a carriage return) is prefixed with an apostrophe, so that it
is shown as the text it is. Every export goes through `spreadsheet_safe`."""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """The value as a spreadsheet may hold it: formula-like text gets a leading apostrophe;
    numbers, dates and other values are kept as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: Any) -> list[Any]:
    """A row of cells, each made formula-safe."""
    return [spreadsheet_safe(value) for value in values]


def make_workbook_safe(book: Any) -> Any:
    """Every text cell of an openpyxl workbook made formula-safe and stored as text (openpyxl
    would otherwise write a value starting with "=" as a formula). Call it just before saving."""
    for sheet in book.worksheets:
        for line in sheet.iter_rows():
            for cell in line:
                if isinstance(cell.value, str):
                    cell.value = spreadsheet_safe(cell.value)
                    cell.data_type = "s"
    return book
