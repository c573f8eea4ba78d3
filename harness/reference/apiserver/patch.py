"""PATCH bodies: JSON merge patch (RFC 7386) and JSON patch (RFC 6902)."""

from __future__ import annotations

from typing import Any

from harness.reference.apiserver import go_json
from harness.reference.apiserver.status_errors import ApiError, bad_request, unsupported_media_type

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, `null` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            result[key] = merge_patch(result.get(key), value)
        else:
            result[key] = value
    return result


def json_patch(target: dict[str, Any], operations: Any) -> Any:
    """RFC 6902 via `jsonpatch`; any failed operation (a bad op, a missing path, a failed `test`)
    is the real server's bare 422."""
    import jsonpatch
    import jsonpointer

    if operations is None:
        return target
    if not isinstance(operations, list):
        raise _undecodable(operations, "[]handlers.jsonPatchOp")
    try:
        patch = jsonpatch.JsonPatch(operations)
        return patch.apply(target, in_place=True)
    except (
        jsonpatch.JsonPatchException,
        jsonpointer.JsonPointerException,
        TypeError,
        KeyError,
        IndexError,
        ValueError,
        AttributeError,
    ):
        raise ApiError(
            422, "Invalid", "the server rejected our request due to an error in our request"
        ) from None


def _undecodable(body: Any, go_type: str) -> ApiError:
    return bad_request(
        f"error decoding patch: json: cannot unmarshal {go_json.go_type(body)} into Go value "
        f"of type {go_type}"
    )


def apply_patch(
    target: dict[str, Any], body: Any, content_type: str, strategic_allowed: bool
) -> Any:
    """Apply a decoded PATCH body to a private copy of the stored object."""
    if content_type == MERGE or (content_type == STRATEGIC and strategic_allowed):
        # Built-ins accept strategic merge; lists are replaced whole here (no merge keys).
        if body is None:
            raise bad_request("Invalid JSON Patch")
        if not isinstance(body, dict):
            raise _undecodable(body, "map[string]interface {}")
        return merge_patch(target, body)
    if content_type == JSON_PATCH:
        return json_patch(target, body)
    raise unsupported_media_type()
