"""Printer column cells of the embedded server against the cells client-go's JSONPath and the
CRD table convertor compute (data/printer-cells.json, measured from the pinned Go modules):
paths that parse or not, evaluation errors, Go's number and JSON formatting, type fitting."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from harness.reference.apiserver.go_format import go_float_text, go_json
from harness.reference.apiserver.tables.columns import custom_printer
from harness.reference.apiserver.tables.go_values import human_duration

from .helpers import DATA

MEASURED = json.loads((DATA / "printer-cells.json").read_text())
AGE = re.compile(r"^(\d+[smhdy])+$")


@pytest.mark.parametrize(("type_", "path", "expected"), MEASURED["cases"], ids=str)
def test_printer_cell(type_: str, path: str, expected: Any) -> None:
    printer = custom_printer([{"name": "c", "type": type_, "jsonPath": path}])
    if expected == {"unparsable": True}:
        assert [c.name for c in printer.columns] == ["Name"]
        return
    cell = printer.cells(MEASURED["object"], datetime.now(UTC))[1]
    if expected == {"age": True}:
        assert isinstance(cell, str) and AGE.match(cell), cell
    else:
        assert (cell, type(cell)) == (expected, type(expected))


@pytest.mark.parametrize(
    ("number", "text", "encoded"),
    [
        (2.5, "2.5", "2.5"),
        (1e20, "1e+20", "100000000000000000000"),
        (1e21, "1e+21", "1e+21"),
        (1e-5, "1e-05", "0.00001"),
        (1e-7, "1e-07", "1e-7"),
        (1234567.5, "1.2345675e+06", "1234567.5"),
        (123456.5, "123456.5", "123456.5"),
        (-2.7, "-2.7", "-2.7"),
    ],
)
def test_go_float_formatting(number: float, text: str, encoded: str) -> None:
    """`fmt.Sprint` and `json.Marshal` of a float64 (measured with the Go toolchain)."""
    assert go_float_text(number) == text
    assert go_json([number]) == f"[{encoded}]"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "<invalid>"),
        (-1, "0s"),
        (119, "119s"),
        (120, "2m"),
        (303, "5m3s"),
        (600, "10m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 600, "3h10m"),
        (47 * 3600, "47h"),
        (50 * 3600, "2d2h"),
        (30 * 86400, "30d"),
        (3 * 365 * 86400 + 5 * 86400, "3y5d"),
        (9 * 365 * 86400, "9y"),
    ],
)
def test_human_duration(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text
