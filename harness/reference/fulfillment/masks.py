"""Update masks (contract §11.4): which CR spec fields an Update touches.

From fulfillment-service 0cff9a06 a masked update touches only the masked paths, named in proto
snake_case (`spec.restart_requested_at`). Paths are checked against the ComputeInstance
descriptor: an unknown path is an error. Paths outside `spec` name fields that the CR does not
hold as user input (id, metadata, status are derived from the CR), so they are accepted and have
no effect. An empty mask updates every spec field present in the request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from harness.reference.fulfillment.rpc_errors import invalid_argument
from harness.reference.fulfillment.spec import (
    CR_KEYS,
    CR_SUB_KEYS,
    cr_value,
    is_present,
    spec_fields,
)


@dataclass(frozen=True)
class SpecPath:
    field: str
    sub: str | None = None


def _is_plain_message(field: FieldDescriptor) -> bool:
    """A singular message field of our own (not a well-known type, map or list)."""
    return (
        field.message_type is not None
        and not field.is_repeated
        and not field.message_type.full_name.startswith("google.protobuf.")
    )


def _check(path: str, descriptor: Descriptor) -> list[str]:
    parts = path.split(".")
    current: Descriptor | None = descriptor
    for index, part in enumerate(parts):
        field = current.fields_by_name.get(part) if current is not None else None
        if field is None:
            raise invalid_argument(
                f"update mask path '{path}' does not name a field of {descriptor.name}"
            )
        last = index == len(parts) - 1
        if not last and not _is_plain_message(field):
            raise invalid_argument(
                f"update mask path '{path}': '{part}' has no fields that can be updated one by one"
            )
        current = field.message_type
    return parts


def resolve(paths: Iterable[str], instance_descriptor: Descriptor) -> list[SpecPath]:
    """The spec paths a mask selects; raises INVALID_ARGUMENT for unknown paths."""
    spec_descriptor = instance_descriptor.fields_by_name["spec"].message_type
    selected: list[SpecPath] = []
    for path in paths:
        parts = _check(path, instance_descriptor)
        if parts[0] != "spec":
            continue
        if len(parts) == 1:
            selected.extend(SpecPath(field.name) for field in spec_descriptor.fields)
        else:
            selected.append(SpecPath(parts[1], parts[2] if len(parts) > 2 else None))
    return selected


def present_paths(spec: Message) -> list[SpecPath]:
    """What an empty mask selects: every spec field set in the request."""
    return [SpecPath(field) for field in spec_fields(spec) if is_present(spec, field)]


def spec_patch(spec: Message, paths: Iterable[SpecPath], instance_id: str) -> dict[str, Any]:
    """Merge patch of the CR spec for the selected paths; an unset field removes the key."""
    patch: dict[str, Any] = {}
    whole = {path.field for path in paths if path.sub is None}
    for path in paths:
        key = CR_KEYS[path.field]
        if path.sub is None:
            present = is_present(spec, path.field)
            patch[key] = cr_value(spec, path.field, instance_id) if present else None
        elif path.field not in whole:
            parent = getattr(spec, path.field)
            if parent.DESCRIPTOR.fields_by_name[path.sub].has_presence and not parent.HasField(
                path.sub
            ):
                value = None
            else:
                value = getattr(parent, path.sub)
            patch.setdefault(key, {})[CR_SUB_KEYS[path.sub]] = value
    return patch
