"""List filters: a CEL expression over the object, bound to `this` (contract §11.2).

fulfillment-service translates the CEL filter to SQL over its JSON records; here it is evaluated
with cel-python over the object's proto JSON (snake_case field names, enums by value name,
timestamps as RFC 3339 strings, fields with default values included), e.g.
`this.id == "..."` or `this.status.state == "COMPUTE_INSTANCE_STATE_RUNNING"`.
"""

from __future__ import annotations

from collections.abc import Callable

from google.protobuf import json_format
from google.protobuf.message import Message

from harness.reference.fulfillment.rpc_errors import invalid_argument

Predicate = Callable[[Message], bool]


def compile_filter(expression: str) -> Predicate:
    import celpy  # slow to import and rarely needed

    environment = celpy.Environment()
    try:
        program = environment.program(environment.compile(expression))
    except Exception as error:  # celpy raises parser-specific types
        raise invalid_argument(f"invalid filter {expression!r}: {_one_line(error)}") from None

    def matches(message: Message) -> bool:
        data = json_format.MessageToDict(
            message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
        )
        try:
            result = program.evaluate({"this": celpy.json_to_cel(data)})
        except Exception as error:
            raise invalid_argument(
                f"filter {expression!r} cannot be evaluated: {_one_line(error)}"
            ) from None
        if isinstance(result, Exception):
            raise invalid_argument(f"filter {expression!r} cannot be evaluated: {result}")
        return bool(result)

    return matches


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())[:300] or type(error).__name__
