"""Table columns and the printer of a custom resource, from its CRD's additionalPrinterColumns.

A custom resource's table is Name, then the CRD version's printer columns, or Age when it
declares none (no Age otherwise). A column's cell is the first result of its JSONPath, made
to fit the column's type (a value of another type gives an empty cell); a path the dialect
cannot parse ends the column list there, as kube-apiserver's convertor does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from harness.reference.apiserver.tables import go_values
from harness.reference.apiserver.tables.jsonpath import JsonPath, JsonPathError, compile_path

# The descriptions kube-apiserver serves with a Name and an Age column (ObjectMeta's).
NAME_DESCRIPTION = (
    "Name must be unique within a namespace. Is required when creating resources, although "
    "some resources may allow a client to request the generation of an appropriate name "
    "automatically. Name is primarily intended for creation idempotence and configuration "
    "definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
CREATED_DESCRIPTION = (
    "CreationTimestamp is a timestamp representing the server time when this object was "
    "created. It is not guaranteed to be set in happens-before order across separate "
    "operations. Clients may not set this value. It is represented in RFC3339 form and is in "
    "UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
CUSTOM_DESCRIPTION = "Custom resource definition column (in JSONPath format): {path}"
TYPES = ("boolean", "date", "integer", "number", "string")
FORMATS = ("byte", "date", "date-time", "double", "float", "int32", "int64", "password")


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str = "string"
    format: str = ""
    description: str = ""
    priority: int = 0

    def definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        }


NAME_COLUMN = Column("Name", "string", "name", NAME_DESCRIPTION)

Cells = Callable[[dict[str, Any], datetime], list[Any]]


@dataclass(frozen=True, slots=True)
class Printer:
    """A resource's columns and how one object becomes a row's cells (at a moment, for ages)."""

    columns: tuple[Column, ...]
    cells: Cells
    conditions: Callable[[dict[str, Any]], list[dict[str, Any]] | None] = lambda obj: None


def custom_printer(printer_columns: list[dict[str, Any]]) -> Printer:
    declared = printer_columns or [
        {
            "name": "Age",
            "type": "date",
            "description": CREATED_DESCRIPTION,
            "jsonPath": ".metadata.creationTimestamp",
        }
    ]
    columns = [NAME_COLUMN]
    paths: list[JsonPath] = []
    for spec in declared:
        path = str(spec.get("jsonPath", ""))
        try:
            paths.append(compile_path(path))
        except JsonPathError:
            break
        columns.append(
            Column(
                name=str(spec.get("name", "")),
                type=str(spec.get("type", "")),
                format=str(spec.get("format") or ""),
                description=str(spec.get("description") or CUSTOM_DESCRIPTION.format(path=path)),
                priority=int(spec.get("priority") or 0),
            )
        )
    types = [column.type for column in columns[1:]]

    def cells(obj: dict[str, Any], now: datetime) -> list[Any]:
        row: list[Any] = [obj.get("metadata", {}).get("name", "")]
        for path, type_ in zip(paths, types, strict=True):
            row.append(_cell(path, type_, obj, now))
        return row

    return Printer(tuple(columns), cells)


def _cell(path: JsonPath, type_: str, obj: dict[str, Any], now: datetime) -> Any:
    try:
        results = path.find(obj)
    except JsonPathError:
        return None
    if not results or not results[0]:
        return None
    value = results[0][0]
    if type_ == "string":
        return go_values.cell_text(value)
    return typed_cell(type_, value, now)


def typed_cell(type_: str, value: Any, now: datetime) -> Any:
    """A non-string column's cell: the value if it has the column's type, else empty."""
    if value is None:
        return None
    if type_ == "integer":
        return go_values.go_int64(value)
    if type_ == "number":
        return go_values.go_number(value)
    if type_ == "boolean":
        return value if isinstance(value, bool) else None
    if type_ == "date" and isinstance(value, str):
        if value in ("", "null"):
            return "<unknown>"
        parsed = go_values.parse_time(value)
        if parsed is None:
            return "<invalid>"
        return go_values.human_duration((now - parsed).total_seconds())
    return None
