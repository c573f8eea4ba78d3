"""Media types as kube-apiserver 1.37 negotiates them (measured): what a request body may be,
what `Accept` may ask for, and the 415 and 406 answers.

Bodies of create and update: JSON (also without a Content-Type), YAML, or protobuf. Protobuf is
decoded for the built-in kinds kubectl sends that way (`kube_protobuf.MESSAGES`); for any other
built-in kind this server answers 415 naming JSON and YAML, where a real server would decode it.
For a custom resource a real server has no protobuf decoder: it answers 400 with
`fieldValidation=Ignore`, and otherwise (the default `Warn`, or `Strict`) it panics on a nil
decoder and closes the connection without an answer; this server does the same
(`DropConnection`).

Responses are JSON. `Accept` must allow one: for a custom resource JSON or YAML (also `*/*` and
`application/*`; protobuf is never served), for a built-in JSON, YAML or protobuf (also `*/*`,
not `application/*`), else 406. YAML and protobuf for built-ins are answered in JSON here (a
real server encodes them as asked). Status errors are encoded in protobuf when that is the
preferred type a client accepts, as kubectl asks (`application/vnd.kubernetes.protobuf,
application/json`); a real server does so too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml

from harness.reference.apiserver import kube_protobuf, request_body
from harness.reference.apiserver.patch import APPLY, JSON_PATCH, MERGE
from harness.reference.apiserver.registry import ResourceType
from harness.reference.apiserver.status_errors import (
    ApiError,
    bad_request,
    unsupported_media_type,
)

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = kube_protobuf.MEDIA_TYPE
OBJECT_TYPES = (JSON, YAML, PROTOBUF)
CUSTOM_PATCH_TYPES = (JSON_PATCH, MERGE, APPLY)
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class DropConnection(Exception):
    """Close the connection without an answer, as a real server's recovered panic does."""


def unsupported_body(accepted: tuple[str, ...] = OBJECT_TYPES) -> ApiError:
    return unsupported_media_type(accepted)


def unsupported_patch(resource: ResourceType) -> ApiError:
    """A PATCH of a type the resource does not take: custom resources name theirs, built-ins
    answer the generic 415."""
    return unsupported_media_type(CUSTOM_PATCH_TYPES if resource.is_custom else ())


@dataclass(frozen=True, slots=True)
class BodyType:
    """What a create or update body must be: `api_version`/`kind`, of a custom resource or not."""

    api_version: str
    kind: str
    custom: bool = False

    @classmethod
    def of(cls, resource: ResourceType) -> BodyType:
        return cls(resource.api_version, resource.kind, resource.is_custom)


def object_body(raw: bytes, content_type: str, body: BodyType, query: dict[str, str]) -> Any:
    """A create or update body, decoded by its Content-Type."""
    version = body.api_version.rpartition("/")[2]
    if content_type in (JSON, ""):
        return request_body.object_value(raw, body.kind, version, body.custom)
    if content_type == YAML:
        # As sigs.k8s.io/yaml does: YAML becomes JSON, then the JSON decoder reads it.
        as_json = json.dumps(_decode_yaml(raw), default=str).encode()
        return request_body.object_value(as_json, body.kind, version, body.custom)
    if content_type != PROTOBUF:
        raise unsupported_body()
    if body.custom:
        if query.get("fieldValidation") != "Ignore":
            raise DropConnection(f"a protobuf body for a {body.kind}")
        unknown = kube_protobuf.envelope(raw, body.kind)
        kind = unknown.typeMeta.kind or body.kind
        version = (unknown.typeMeta.apiVersion or body.api_version).rpartition("/")[2]
        raise bad_request(
            f'{kind} in version "{version}" cannot be handled as a {body.kind}: '
            "Object 'Kind' is missing in 'object has no kind field '"
        )
    if not kube_protobuf.decodable(body.api_version, body.kind):
        raise unsupported_body((JSON, YAML))
    return kube_protobuf.decode(raw, body.api_version, body.kind)


class _YamlLoader(yaml.SafeLoader):
    """YAML as sigs.k8s.io/yaml turns it into JSON: timestamps stay strings."""


_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _decode_yaml(raw: bytes) -> Any:
    if not raw.strip():
        raise bad_request("the request body is empty")
    try:
        return yaml.load(raw, Loader=_YamlLoader)
    except yaml.YAMLError as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise bad_request(f"error converting YAML to JSON: yaml: {first}") from None


# --- Accept ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Clause:
    type: str
    subtype: str
    q: float


def _clauses(accept: str | None) -> list[_Clause]:
    """The Accept header's media ranges, best first (quality, then the more specific), as
    goautoneg orders them."""
    clauses = []
    for part in (accept or "").split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        kind, _, subtype = media.partition("/")
        if not kind or not subtype:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            clauses.append(_Clause(kind.lower(), subtype.lower(), q))
    return sorted(clauses, key=lambda c: (-c.q, c.type == "*", c.subtype == "*"))


def _matches(clause: _Clause, media_type: str, wildcard_subtype: bool) -> bool:
    kind, _, subtype = media_type.partition("/")
    if clause.type == "*" and clause.subtype == "*":
        return True
    if clause.type != kind:
        return False
    return clause.subtype == subtype or (wildcard_subtype and clause.subtype == "*")


def check_acceptable(accept: str | None, resource: ResourceType, verb: str) -> None:
    """406 unless `Accept` allows a representation of `resource` this server can send; a
    built-in's list and watch also name the watch streams."""
    if not accept or not accept.strip():
        return
    served = (JSON, YAML) if resource.is_custom else OBJECT_TYPES
    for clause in _clauses(accept):
        if any(_matches(clause, media, resource.is_custom) for media in served):
            return
    available = ", ".join(OBJECT_TYPES)
    if resource.is_custom:
        raise ApiError(
            406, "NotAcceptable", f"only the following media types are accepted: {available}"
        )
    if verb in ("list", "watch"):
        available += f", {JSON};stream=watch, {PROTOBUF};stream=watch"
    raise ApiError(
        406,
        "NotAcceptable",
        f"406: Not Acceptable\n\nAvailable representations: {available}",
        empty_details=True,
    )


def error_in_protobuf(accept: str | None) -> bool:
    """Whether a Status error goes out in protobuf: the client's preferred type is it."""
    for clause in _clauses(accept):
        for media in OBJECT_TYPES:
            if _matches(clause, media, wildcard_subtype=True):
                return media == PROTOBUF
    return False
