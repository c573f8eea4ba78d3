"""`kind: Status` errors with the codes, reasons and messages the real API server uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.reference.apiserver.go_format import go_value


@dataclass(frozen=True, slots=True)
class Cause:
    reason: str
    message: str
    field: str

    def to_dict(self) -> dict[str, str]:
        cause = {"reason": self.reason, "message": self.message, "field": self.field}
        if not self.field:
            del cause["field"]  # omitempty, as Go writes it
        return cause

    def render(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class ApiError(Exception):
    """Raised anywhere below the HTTP layer; the HTTP layer renders it as a Status body."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        name: str | None = None,
        group: str | None = None,
        kind: str | None = None,
        causes: list[Cause] | None = None,
        cause_messages: list[str] | None = None,
        retry_after: int | None = None,
        empty_details: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.name = name
        self.group = group
        self.kind = kind
        self.causes = causes or []
        # Causes with a message only (errors.NewInternalError); `Retry-After` seconds (429).
        self.cause_messages = cause_messages or []
        self.retry_after = retry_after
        # errors.NewForbidden always has details, `{}` when nothing names the target.
        self.empty_details = empty_details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        details: dict[str, Any] = {}
        if self.name:  # omitempty, as Go writes it
            details["name"] = self.name
        if self.group:
            details["group"] = self.group
        if self.kind is not None:
            details["kind"] = self.kind
        if self.causes:
            details["causes"] = [cause.to_dict() for cause in self.causes]
        elif self.cause_messages:
            details["causes"] = [{"message": message} for message in self.cause_messages]
        if self.retry_after is not None:
            details["retryAfterSeconds"] = self.retry_after
        if details or self.empty_details:
            body["details"] = details
        return body


def qualified(plural: str, group: str) -> str:
    return f"{plural}.{group}" if group else plural


def not_found(plural: str, group: str, name: str) -> ApiError:
    return ApiError(
        404,
        "NotFound",
        f'{qualified(plural, group)} "{name}" not found',
        name=name,
        group=group,
        kind=plural,
    )


def path_not_found() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource")


def already_exists(plural: str, group: str, name: str) -> ApiError:
    return ApiError(
        409,
        "AlreadyExists",
        f'{qualified(plural, group)} "{name}" already exists',
        name=name,
        group=group,
        kind=plural,
    )


def conflict(plural: str, group: str, name: str, detail: str | None = None) -> ApiError:
    detail = detail or (
        "the object has been modified; please apply your changes to the latest version "
        "and try again"
    )
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified(plural, group)} "{name}": {detail}',
        name=name,
        group=group,
        kind=plural,
    )


def invalid(kind: str, group: str, name: str, causes: list[Cause]) -> ApiError:
    rendered = [cause.render() for cause in causes]
    summary = rendered[0] if len(rendered) == 1 else "[" + ", ".join(rendered) + "]"
    return ApiError(
        422,
        "Invalid",
        f'{qualified(kind, group)} "{name}" is invalid: {summary}',
        name=name,
        group=group,
        kind=kind,
        causes=causes,
    )


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def expired(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def unsupported_media_type(accepted: tuple[str, ...] = ()) -> ApiError:
    """415 naming the media types the request could have used, or the generic one."""
    if not accepted:
        return ApiError(
            415, "UnsupportedMediaType", "415: Unsupported Media Type", empty_details=True
        )
    return ApiError(
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: "
        + ", ".join(accepted),
    )


def method_not_allowed(message: str = "the server does not allow this method") -> ApiError:
    return ApiError(405, "MethodNotAllowed", message)


def forbidden(message: str, plural: str = "", group: str = "", name: str = "") -> ApiError:
    return ApiError(403, "Forbidden", message, name=name or None, group=group, kind=plural or None)


def field_invalid(field: str, value: Any, detail: str) -> Cause:
    return Cause("FieldValueInvalid", f"Invalid value: {go_value(value)}: {detail}", field)


def field_type_invalid(field: str, value: Any, detail: str) -> Cause:
    return Cause("FieldValueTypeInvalid", f"Invalid value: {go_value(value)}: {detail}", field)


def field_required(field: str, detail: str = "") -> Cause:
    return Cause("FieldValueRequired", "Required value" + (f": {detail}" if detail else ""), field)


def field_not_supported(field: str, value: Any, supported: list[Any]) -> Cause:
    values = ", ".join(go_value(item) for item in supported)
    return Cause(
        "FieldValueNotSupported",
        f"Unsupported value: {go_value(value)}: supported values: {values}",
        field,
    )


def field_forbidden(field: str, detail: str) -> Cause:
    return Cause("FieldValueForbidden", f"Forbidden: {detail}", field)


def field_too_long(field: str, limit: int) -> Cause:
    unit = "byte" if limit == 1 else "bytes"
    return Cause("FieldValueTooLong", f"Too long: may not be more than {limit} {unit}", field)


def field_too_many(field: str, actual: int, limit: int) -> Cause:
    unit = "item" if limit == 1 else "items"
    message = f"Too many: {actual}: must have at most {limit} {unit}"
    return Cause("FieldValueTooMany", message, field)


def field_duplicate(field: str, value: Any) -> Cause:
    return Cause("FieldValueDuplicate", f"Duplicate value: {go_value(value)}", field)
