"""Table output (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`), what `kubectl get`
asks for: `negotiate` reads the request, `Tables` renders lists, objects and watch events.

A Table has the resource's columns (`columns.py` for custom resources, `builtin.py` for the
built-in kinds) and one row per object, each row carrying the object's metadata
(`includeObject=Metadata`, the default), the whole object (`Object`) or nothing (`None`). In a
watch every event's object is a one-row Table; only the first carries the column definitions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from harness.reference.apiserver.object_store import dumps
from harness.reference.apiserver.registry import ResourceType
from harness.reference.apiserver.status_errors import bad_request
from harness.reference.apiserver.tables.builtin import PRINTERS
from harness.reference.apiserver.tables.columns import Printer, custom_printer

TABLE_VERSIONS = ("v1", "v1beta1")
INCLUDE = ("Metadata", "Object", "None")


@dataclass(frozen=True, slots=True)
class TableRequest:
    version: str = "v1"
    include: str = "Metadata"

    @property
    def api_version(self) -> str:
        return f"meta.k8s.io/{self.version}"


def negotiate(accept: str | None, query: dict[str, str]) -> TableRequest | None:
    """The Table the Accept header asks for, or None for plain JSON.

    Media ranges are taken in the client's order: the first plain JSON one (or `*/*`) means
    JSON, the first `application/json;as=Table;g=meta.k8s.io;v=v1|v1beta1` a Table; other
    conversions are skipped. Raises 400 for an `includeObject` other than Metadata, Object,
    None or empty.
    """
    for media_range in (accept or "").split(","):
        kind, *raw_params = (part.strip() for part in media_range.split(";"))
        params = dict(p.split("=", 1) for p in raw_params if "=" in p)
        if kind not in ("application/json", "application/*", "*/*"):
            continue
        convert = params.get("as")
        if convert is None:
            return None
        if (
            convert == "Table"
            and params.get("g") == "meta.k8s.io"
            and params.get("v") in TABLE_VERSIONS
        ):
            include = query.get("includeObject") or "Metadata"
            if include not in INCLUDE:
                raise bad_request(
                    "Unable to convert to Table as requested: includeObject: Invalid value: "
                    f"{json.dumps(include)}: must be 'Metadata', 'Object', 'None', or empty"
                )
            return TableRequest(params["v"], include)
    return None


def printer_for(resource: ResourceType) -> Printer:
    if resource.is_custom:
        return custom_printer(list(resource.printer_columns))
    return PRINTERS.get(resource.resource_id) or custom_printer([])


class Tables:
    """Renders one resource's objects as Tables for one request."""

    def __init__(self, resource: ResourceType, request: TableRequest) -> None:
        self.request = request
        self.printer = printer_for(resource)
        self.headers_sent = False

    def list(self, body: bytes) -> bytes:
        """A list answer (`{"metadata": ..., "items": [...]}`) as a Table."""
        listed = json.loads(body)
        list_meta = listed.get("metadata") or {}
        metadata = {
            key: list_meta[key]
            for key in ("resourceVersion", "continue", "remainingItemCount")
            if key in list_meta
        }
        return self._table(metadata, listed.get("items") or [], headers=True)

    def object(self, body: bytes) -> bytes:
        obj = json.loads(body)
        return self._table(self._object_meta(obj), [obj], headers=True)

    def watch_lines(self, chunk: bytes) -> bytes:
        """Watch lines with each event's object as a one-row Table; errors pass through."""
        lines = []
        for line in chunk.splitlines():
            if not line.strip():
                continue
            event = json.loads(line)
            if event.get("type") == "ERROR":
                lines.append(line + b"\n")
                continue
            obj = event.get("object") or {}
            table = self._table(self._object_meta(obj), [obj], headers=not self.headers_sent)
            self.headers_sent = True
            lines.append(b'{"type":' + dumps(event.get("type")) + b',"object":' + table + b"}\n")
        return b"".join(lines)

    @staticmethod
    def _object_meta(obj: dict[str, Any]) -> dict[str, Any]:
        version = (obj.get("metadata") or {}).get("resourceVersion")
        return {"resourceVersion": version} if version else {}

    def _table(
        self, metadata: dict[str, Any], objects: list[dict[str, Any]], headers: bool
    ) -> bytes:
        now = datetime.now(UTC)
        printer = self.printer
        rows = []
        for obj in objects:
            row: dict[str, Any] = {"cells": printer.cells(obj, now)}
            conditions = printer.conditions(obj)
            if conditions:
                row["conditions"] = conditions
            row["object"] = self._row_object(obj)
            rows.append(row)
        table = {
            "kind": "Table",
            "apiVersion": self.request.api_version,
            "metadata": metadata,
            "columnDefinitions": (
                [column.definition() for column in printer.columns] if headers else None
            ),
            "rows": rows,
        }
        return dumps(table)

    def _row_object(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        include = self.request.include
        if include == "None":
            return None
        if include == "Object":
            return obj
        return {
            "kind": "PartialObjectMetadata",
            "apiVersion": self.request.api_version,
            "metadata": obj.get("metadata") or {},
        }


__all__ = ["TableRequest", "Tables", "negotiate", "printer_for"]
