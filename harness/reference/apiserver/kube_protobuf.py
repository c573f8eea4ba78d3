"""Kubernetes' protobuf encoding (`application/vnd.kubernetes.protobuf`) for the few built-in
kinds kubectl sends that way, and for Status errors.

A body is the magic `k8s\\0`, then a `runtime.Unknown`: the object's apiVersion and kind, and the
typed message as bytes (`kube_objects.proto`). `decode` turns such a body into the JSON object a
JSON client would have sent, as Go's decoder reads it (an empty string or zero number is no
value; a bool or a pointer number present is one), and refuses a bad one with the Status
kube-apiserver 1.37 answers (measured). `encode_status` is the other way, for errors asked for
in protobuf.
"""

from __future__ import annotations

import base64
import time
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message

from harness.contract.wire.gen.kube.v1 import kube_objects_pb2 as pb
from harness.reference.apiserver.status_errors import ApiError, bad_request

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

# (apiVersion, kind) to message: what kubectl's imperative commands send as protobuf.
MESSAGES: dict[tuple[str, str], type[Message]] = {
    ("v1", "Namespace"): pb.Namespace,
    ("v1", "ConfigMap"): pb.ConfigMap,
    ("v1", "Secret"): pb.Secret,
    ("v1", "ServiceAccount"): pb.ServiceAccount,
    ("authentication.k8s.io/v1", "TokenRequest"): pb.TokenRequest,
    ("authentication.k8s.io/v1", "SelfSubjectReview"): pb.SelfSubjectReview,
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): pb.SelfSubjectAccessReview,
    ("authorization.k8s.io/v1", "SubjectAccessReview"): pb.SubjectAccessReview,
}
# Go pointer fields: present means set, even to 0 (`*int64`).
_POINTERS = frozenset({"expirationSeconds", "deletionGracePeriodSeconds"})
# Where a kind's internal (unversioned) type lives, as conversion errors name it.
_INTERNAL = {"": "core", "authentication.k8s.io": "authentication"}


def decodable(api_version: str, kind: str) -> bool:
    return (api_version, kind) in MESSAGES


def envelope(raw: bytes, kind: str) -> pb.Unknown:
    """The runtime.Unknown of a body for `kind`, or the 400 kube-apiserver answers."""
    if not raw:
        raise _unrecognized(kind, "empty data", raw)
    if not raw.startswith(MAGIC):
        prefix = " ".join(str(byte) for byte in MAGIC)
        detail = (
            f"provided data does not appear to be a protobuf message, expected prefix [{prefix}]"
        )
        raise _unrecognized(kind, detail, raw)
    if len(raw) == len(MAGIC):
        raise _unrecognized(kind, "empty body", raw)
    unknown = pb.Unknown()
    try:
        unknown.ParseFromString(raw[len(MAGIC) :])
    except DecodeError:
        raise _unrecognized(kind, "unexpected EOF", raw) from None
    return unknown


def decode(raw: bytes, api_version: str, kind: str) -> dict[str, Any]:
    """The JSON object of a protobuf body sent to a resource of `api_version`/`kind`."""
    unknown = envelope(raw, kind)
    sent_version = unknown.typeMeta.apiVersion or api_version
    sent_kind = unknown.typeMeta.kind or kind
    if (sent_version, sent_kind) != (api_version, kind):
        detail = _mismatch(sent_version, sent_kind, api_version, kind)
        raise bad_request(_cannot_handle(sent_version, sent_kind, kind, detail))
    message = MESSAGES[(api_version, kind)]()
    try:
        message.ParseFromString(unknown.raw)
    except DecodeError:
        raise bad_request(_cannot_handle(sent_version, sent_kind, kind, "unexpected EOF")) from None
    return {"apiVersion": sent_version, "kind": sent_kind, **to_json(message)}


def to_json(message: Message) -> dict[str, Any]:
    """A message as Go's JSON encoding of the decoded struct would have it."""
    result: dict[str, Any] = {}
    for field, value in message.ListFields():
        converted = _value(field, value)
        if converted is not None:
            result[field.name] = converted
    return result


def _value(field: FieldDescriptor, value: Any) -> Any:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        value_field = field.message_type.fields_by_name["value"]
        entries = {key: _scalar_or_message(value_field, item, True) for key, item in value.items()}
        return entries or None
    if field.is_repeated:
        items = [_scalar_or_message(field, item, keep=True) for item in value]
        return items or None
    return _scalar_or_message(field, value, keep=field.name in _POINTERS)


def _scalar_or_message(field: FieldDescriptor, value: Any, keep: bool) -> Any:
    if isinstance(value, pb.Time):  # metav1.Time: RFC 3339 in whole seconds; zero is unset
        if not value.seconds and not value.nanos:
            return None
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(value.seconds))
    if field.message_type is not None:
        converted = to_json(value)
        return converted if converted or keep else None
    if field.type == FieldDescriptor.TYPE_BYTES:
        return base64.b64encode(value).decode()
    if field.type == FieldDescriptor.TYPE_BOOL:
        return value
    if value in ("", 0) and not keep:
        return None
    return value


def encode_status(status: dict[str, Any]) -> bytes:
    """A `kind: Status` body (as `ApiError.status()` builds it) in protobuf."""
    message = pb.Status(
        metadata=pb.ListMeta(),
        status=status.get("status", ""),
        message=status.get("message", ""),
        reason=status.get("reason", ""),
        code=int(status.get("code", 0)),
    )
    details = status.get("details")
    if details is not None:
        message.details.SetInParent()
        for name in ("name", "group", "kind", "uid"):
            if details.get(name):
                setattr(message.details, name, details[name])
        for cause in details.get("causes") or []:
            message.details.causes.add(**{k: v for k, v in cause.items() if v})
        if details.get("retryAfterSeconds") is not None:
            message.details.retryAfterSeconds = int(details["retryAfterSeconds"])
    unknown = pb.Unknown(
        typeMeta=pb.TypeMeta(apiVersion="v1", kind="Status"), raw=message.SerializeToString()
    )
    return MAGIC + unknown.SerializeToString()


def _unrecognized(kind: str, detail: str, raw: bytes) -> ApiError:
    return bad_request(
        f"the object provided is unrecognized (must be of type {kind}): {detail} ({_summary(raw)})"
    )


def _cannot_handle(sent_version: str, sent_kind: str, kind: str, detail: str) -> str:
    version = sent_version.rpartition("/")[2]
    return f'{sent_kind} in version "{version}" cannot be handled as a {kind}: {detail}'


def _mismatch(sent_version: str, sent_kind: str, api_version: str, kind: str) -> str:
    group, _, version = api_version.rpartition("/")
    if sent_version != api_version:
        return (
            f'no kind "{sent_kind}" is registered for version "{sent_version}" in scheme '
            '"pkg/runtime/scheme.go:111"'
        )
    internal = _INTERNAL.get(group, group.partition(".")[0])
    return f"converting ({version}.{sent_kind}) to ({internal}.{kind}): unknown conversion"


def _summary(raw: bytes) -> str:
    """handlers.summarizeData: the first 30 bytes, as text for JSON, else in hex."""
    if not raw:
        return "<empty>"
    head = raw[:30]
    text = head.decode(errors="replace") if raw[:1] == b"{" else head.hex()
    return text + (" ..." if len(raw) > 30 else "")
