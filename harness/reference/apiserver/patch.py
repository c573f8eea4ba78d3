"""PATCH bodies: JSON merge patch (RFC 7386) and JSON patch (RFC 6902)."""

from __future__ import annotations

from typing import Any

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
    """RFC 6902 via `jsonpatch`; a failed operation or `test` is 422 like the real server."""
    import jsonpatch
    import jsonpointer

    if not isinstance(operations, list):
        raise bad_request("json patch must be a list of operations")
    try:
        patch = jsonpatch.JsonPatch(operations)
        return patch.apply(target, in_place=True)
    except jsonpatch.InvalidJsonPatch as error:
        raise bad_request(f"invalid json patch: {error}") from None
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as error:
        raise ApiError(
            422,
            "Invalid",
            f"the server rejected our request due to an error in our request: {error}",
        ) from None
    except (TypeError, KeyError, IndexError, ValueError) as error:
        raise ApiError(
            422,
            "Invalid",
            f"the server rejected our request due to an error in our request: {error}",
        ) from None


def apply_patch(
    target: dict[str, Any], body: Any, content_type: str, strategic_allowed: bool
) -> Any:
    """Apply a decoded PATCH body to a private copy of the stored object."""
    if content_type == MERGE or (content_type == STRATEGIC and strategic_allowed):
        # Built-ins accept strategic merge; lists are replaced whole here (no merge keys).
        if not isinstance(body, dict):
            raise bad_request("merge patch body must be a JSON object")
        return merge_patch(target, body)
    if content_type == JSON_PATCH:
        return json_patch(target, body)
    raise unsupported_media_type()
