"""What a request asks for beyond its body, answered as kube-apiserver v1.37.2 answers it
(measured): write options (dryRun, fieldManager, fieldValidation) checked and honoured, delete
options from the body or else the query, the query's integers and booleans read as Go's
parameter codec reads them, names a storage key cannot hold, paths outside the API, blank
media types, updates without a resourceVersion, and which kinds keep a generation.

Every check runs against the embedded server and a real kube-apiserver (`server` in conftest).
"""

from __future__ import annotations

import json

import pytest

from .helpers import GROUP, VERSION, WIDGETS, configmaps_path, unique, widgets_path
from .raw_http import send

MERGE = "application/merge-patch+json"
FIELD_VALIDATIONS = 'supported values: "", "Ignore", "Strict", "Warn"'
POLICIES = 'supported values: "Foreground", "Background", "Orphan", "nil"'
BOTH_SET = "orphanDependents and deletionPropagation cannot be both set"


def _configmap(name: str, value: str = "1", **metadata) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, **metadata},
        "data": {"a": value},
    }


def _widget(name: str) -> dict:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Widget",
        "metadata": {"name": name},
        "spec": {"size": 1},
    }


@pytest.fixture
def stored(api_client, namespace):
    """A ConfigMap to update, patch and delete."""
    name = unique("options")
    answer = send(api_client, "POST", configmaps_path(namespace), json.dumps(_configmap(name)))
    assert answer.status == 201, answer.body
    return name


def _read(api_client, namespace: str, name: str):
    return send(api_client, "GET", f"{configmaps_path(namespace)}/{name}")


def _refusal(answer) -> tuple[int, str | None, str | None]:
    return answer.status, answer.reason, answer.message


# --- write options ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("dryRun=Bogus", 'dryRun: Unsupported value: ["Bogus"]: supported values: "All"'),
        (
            "dryRun=All&dryRun=Bogus",
            'dryRun: Unsupported value: ["All","Bogus"]: supported values: "All"',
        ),
        ("dryRun=", 'dryRun: Unsupported value: [""]: supported values: "All"'),
        (
            "fieldValidation=strict",
            f'fieldValidation: Unsupported value: "strict": {FIELD_VALIDATIONS}',
        ),
        ("fieldManager=" + "m" * 129, "fieldManager: Too long: may not be more than 128 bytes"),
        (
            "fieldManager=a%07b",
            'fieldManager: Invalid value: "a\\ab": invalid character U+0007 (at position 1)',
        ),
    ],
)
@pytest.mark.parametrize("verb", ["create", "update", "patch"])
def test_refused_write_options_are_422_on_the_options_kind(
    api_client, namespace, stored, verb, query, message
):
    """A write option outside its values is 422 Invalid on CreateOptions, UpdateOptions or
    PatchOptions of meta.k8s.io, and nothing is written"""
    kind, method, path, body, content_type = {
        "create": (
            "CreateOptions",
            "POST",
            configmaps_path(namespace),
            _configmap(unique("c")),
            None,
        ),
        "update": ("UpdateOptions", "PUT", f"{configmaps_path(namespace)}/{stored}", None, None),
        "patch": ("PatchOptions", "PATCH", f"{configmaps_path(namespace)}/{stored}", None, MERGE),
    }[verb]
    if body is None:
        body = _configmap(stored, "2") if verb == "update" else {"data": {"a": "2"}}
    answer = send(
        api_client, method, f"{path}?{query}", json.dumps(body), content_type or "application/json"
    )
    assert _refusal(answer) == (422, "Invalid", f'{kind}.meta.k8s.io "" is invalid: {message}')
    assert answer.body["details"]["group"] == "meta.k8s.io"
    assert answer.body["details"]["kind"] == kind
    assert _read(api_client, namespace, stored).body["data"] == {"a": "1"}


def test_several_refused_options_are_listed_together(api_client, namespace):
    """Every refused option is a cause of the one 422"""
    path = f"{configmaps_path(namespace)}?dryRun=Bogus&fieldValidation=No"
    answer = send(api_client, "POST", path, json.dumps(_configmap(unique("c"))))
    assert answer.status == 422
    assert [cause["field"] for cause in answer.body["details"]["causes"]] == [
        "dryRun",
        "fieldValidation",
    ]
    assert answer.message.startswith('CreateOptions.meta.k8s.io "" is invalid: [dryRun: ')


# --- dry runs -----------------------------------------------------------------------------------


def test_a_dry_run_create_answers_the_object_and_stores_nothing(api_client, namespace):
    """dryRun=All: 201 with the object as it would be (uid, creationTimestamp, no
    resourceVersion); a read finds nothing"""
    name = unique("dry")
    answer = send(
        api_client, "POST", f"{configmaps_path(namespace)}?dryRun=All", json.dumps(_configmap(name))
    )
    assert answer.status == 201, answer.body
    metadata = answer.body["metadata"]
    assert metadata["name"] == name and metadata["uid"] and metadata["creationTimestamp"]
    assert "resourceVersion" not in metadata
    assert _read(api_client, namespace, name).status == 404


def test_a_dry_run_create_still_refuses_what_a_create_would(api_client, namespace, stored):
    """A dry run validates as the write would: an existing name is 409"""
    path = f"{configmaps_path(namespace)}?dryRun=All"
    answer = send(api_client, "POST", path, json.dumps(_configmap(stored)))
    assert (answer.status, answer.reason) == (409, "AlreadyExists")


@pytest.mark.parametrize("verb", ["update", "patch"])
def test_a_dry_run_update_answers_the_change_and_keeps_the_object(
    api_client, namespace, stored, verb
):
    """dryRun=All on PUT and PATCH: 200 with the changed object at the stored
    resourceVersion; the stored object is unchanged"""
    before = _read(api_client, namespace, stored).body
    path = f"{configmaps_path(namespace)}/{stored}?dryRun=All"
    if verb == "update":
        answer = send(api_client, "PUT", path, json.dumps(_configmap(stored, "2")))
    else:
        answer = send(api_client, "PATCH", path, json.dumps({"data": {"a": "2"}}), MERGE)
    assert answer.status == 200, answer.body
    assert answer.body["data"] == {"a": "2"}
    assert answer.body["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert _read(api_client, namespace, stored).body == before


def test_a_dry_run_delete_answers_and_keeps_the_object(api_client, namespace, stored):
    """dryRun=All on DELETE: the Status of a deletion, and the object is still there"""
    answer = send(api_client, "DELETE", f"{configmaps_path(namespace)}/{stored}?dryRun=All")
    assert (answer.status, answer.body["kind"], answer.body["details"]["name"]) == (
        200,
        "Status",
        stored,
    )
    assert _read(api_client, namespace, stored).status == 200


def test_a_dry_run_delete_of_a_finalized_object_marks_nothing(api_client, namespace):
    """A dry-run delete of an object with a finalizer answers it with a deletionTimestamp;
    the stored object has none"""
    name = unique("final")
    body = _configmap(name, finalizers=["contract.osac.test/hold"])
    assert send(api_client, "POST", configmaps_path(namespace), json.dumps(body)).status == 201
    try:
        answer = send(api_client, "DELETE", f"{configmaps_path(namespace)}/{name}?dryRun=All")
        assert answer.status == 200, answer.body
        assert answer.body["metadata"]["deletionTimestamp"]
        assert "deletionTimestamp" not in _read(api_client, namespace, name).body["metadata"]
    finally:
        release = json.dumps({"metadata": {"finalizers": None}})
        send(api_client, "PATCH", f"{configmaps_path(namespace)}/{name}", release, MERGE)


def test_a_dry_run_delete_collection_deletes_nothing(api_client, namespace, stored):
    """dryRun=All on a collection: the list of what would go, and all of it stays"""
    selector = f"fieldSelector=metadata.name%3D{stored}"
    path = f"{configmaps_path(namespace)}?dryRun=All&{selector}"
    answer = send(api_client, "DELETE", path)
    assert answer.status == 200, answer.body
    assert [item["metadata"]["name"] for item in answer.body["items"]] == [stored]
    assert _read(api_client, namespace, stored).status == 200


# --- delete options -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "body", "message"),
    [
        (
            "propagationPolicy=Bogus",
            None,
            f'propagationPolicy: Unsupported value: "Bogus": {POLICIES}',
        ),
        (
            None,
            {"propagationPolicy": "Bogus"},
            f'propagationPolicy: Unsupported value: "Bogus": {POLICIES}',
        ),
        (
            "orphanDependents=true&propagationPolicy=Foreground",
            None,
            f'propagationPolicy: Invalid value: "Foreground": {BOTH_SET}',
        ),
        (
            None,
            {"orphanDependents": True, "propagationPolicy": "Foreground"},
            f'propagationPolicy: Invalid value: "Foreground": {BOTH_SET}',
        ),
        (
            None,
            {"dryRun": ["Bogus"]},
            'dryRun: Unsupported value: ["Bogus"]: supported values: "All"',
        ),
    ],
)
@pytest.mark.parametrize("collection", [False, True])
def test_refused_delete_options_are_422(
    api_client, namespace, stored, query, body, message, collection
):
    """Delete options outside their values are 422 Invalid on DeleteOptions, for an object and
    a collection, and nothing is deleted"""
    path = configmaps_path(namespace) if collection else f"{configmaps_path(namespace)}/{stored}"
    if query:
        path += f"?{query}"
    answer = send(api_client, "DELETE", path, json.dumps(body) if body is not None else None)
    assert _refusal(answer) == (
        422,
        "Invalid",
        f'DeleteOptions.meta.k8s.io "" is invalid: {message}',
    )
    assert _read(api_client, namespace, stored).status == 200


def test_a_delete_body_makes_the_query_ignored(api_client, namespace, stored):
    """With DeleteOptions in the body the query's options are not read: a refused query
    option does not stop the delete the body asks for (a dry run here)"""
    path = f"{configmaps_path(namespace)}/{stored}?propagationPolicy=Bogus"
    answer = send(api_client, "DELETE", path, json.dumps({"dryRun": ["All"]}))
    assert answer.status == 200, answer.body
    assert _read(api_client, namespace, stored).status == 200


# --- the query's integers and booleans ----------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "query", "value"),
    [
        ("GET", "timeoutSeconds=abc", "abc"),
        ("GET", "timeoutSeconds=1.5", "1.5"),
        ("GET", "timeoutSeconds=", ""),
        ("GET", "limit=", ""),
        ("GET", "watch=true&timeoutSeconds=abc", "abc"),
        ("DELETE", "limit=abc", "abc"),
        ("DELETE", "timeoutSeconds=x&dryRun=All", "x"),
    ],
)
def test_query_integers_are_parsed_as_go_parses_them(api_client, namespace, method, query, value):
    """An integer of ListOptions that Go's strconv.ParseInt refuses is 400 with its words, on a
    list, a watch and a deletecollection alike"""
    answer = send(api_client, method, f"{configmaps_path(namespace)}?{query}")
    assert _refusal(answer) == (
        400,
        "BadRequest",
        f'strconv.ParseInt: parsing "{value}": invalid syntax',
    )


def test_a_bad_grace_period_on_a_delete_is_400(api_client, namespace, stored):
    """gracePeriodSeconds=abc on a delete is 400, and nothing is deleted"""
    path = f"{configmaps_path(namespace)}/{stored}?gracePeriodSeconds=abc"
    answer = send(api_client, "DELETE", path)
    assert _refusal(answer) == (
        400,
        "BadRequest",
        'strconv.ParseInt: parsing "abc": invalid syntax',
    )
    assert _read(api_client, namespace, stored).status == 200


@pytest.mark.parametrize("value", ["abc", "", "yes", "TRUE"])
def test_any_watch_value_but_false_or_0_is_a_watch(api_client, namespace, stored, value):
    """watch=<anything but 0 or false> is a watch: the answer is a stream of events (here
    the synthetic ADDED of what exists), not a list"""
    path = f"{configmaps_path(namespace)}?watch={value}&timeoutSeconds=1"
    answer = send(api_client, "GET", path)
    assert answer.status == 200
    if isinstance(answer.body, dict):  # a single event decodes as one JSON document
        events = [answer.body]
    else:
        events = [json.loads(line) for line in answer.body.splitlines() if line.strip()]
    assert {event["type"] for event in events} == {"ADDED"}
    assert stored in {event["object"]["metadata"]["name"] for event in events}


@pytest.mark.parametrize("value", ["false", "FALSE", "0"])
def test_watch_false_or_0_is_a_list(api_client, namespace, value):
    """watch=false, FALSE or 0 is a list"""
    answer = send(api_client, "GET", f"{configmaps_path(namespace)}?watch={value}")
    assert (answer.status, answer.body["kind"]) == (200, "ConfigMapList")


def test_a_negative_watch_timeout_ends_the_watch_at_once(api_client, namespace, stored):
    """timeoutSeconds below zero on a watch: 200 and a stream that ends at once without an
    object's event (kube-apiserver sometimes sends the ERROR of its expired deadline first)"""
    answer = send(api_client, "GET", f"{configmaps_path(namespace)}?watch=true&timeoutSeconds=-5")
    assert answer.status == 200
    if answer.body != "":
        assert answer.body["type"] == "ERROR", answer.body
        assert answer.body["object"]["message"] == "context deadline exceeded"


# --- names and paths ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("..", "may not be '..'"),
        (".", "may not be '.'"),
        ("a%25b", "may not contain '%'"),
    ],
)
@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_a_name_no_storage_key_can_hold_is_400(api_client, namespace, method, name, problem):
    """A name in the path that is `.`, `..` or holds `%` is 400 'Name parameter invalid'"""
    decoded = name.replace("%25", "%")
    body = None
    content_type = "application/json"
    if method == "PUT":
        body = json.dumps(_configmap(decoded))
    elif method == "PATCH":
        body, content_type = json.dumps({"data": {"a": "2"}}), MERGE
    answer = send(api_client, method, f"{configmaps_path(namespace)}/{name}", body, content_type)
    assert _refusal(answer) == (
        400,
        "BadRequest",
        f'Name parameter invalid: "{decoded}": {problem}',
    )


@pytest.mark.parametrize(
    ("path", "plain"),
    [
        ("//api/v1/namespaces", True),
        ("/nothing/here", True),
        ("/api//v1/namespaces", False),
        ("/api/v1//namespaces", False),
        ("/apis/apps//v1", False),
    ],
)
def test_paths_with_empty_segments_or_outside_the_api_are_404(api_client, path, plain):
    """A path outside the API, or starting `//`, is the mux's plain-text 404; an empty
    segment inside an API path is the API's NotFound Status"""
    answer = send(api_client, "GET", path)
    assert answer.status == 404
    if plain:
        assert answer.body == "404 page not found\n"
    else:
        assert answer.message == "the server could not find the requested resource"


def test_trailing_slashes_are_allowed(api_client, namespace, stored):
    """A trailing slash reads the same object"""
    answer = send(api_client, "GET", f"{configmaps_path(namespace)}/{stored}/")
    assert (answer.status, answer.body["metadata"]["name"]) == (200, stored)


# --- media types, unconditional updates, generations ---------------------------------------------


@pytest.mark.parametrize("content_type", ["", "  "])
def test_a_blank_content_type_reads_as_json(api_client, namespace, content_type):
    """A blank Content-Type on a create is read as JSON, as if none were sent"""
    name = unique("blank")
    answer = send(
        api_client, "POST", configmaps_path(namespace), json.dumps(_configmap(name)), content_type
    )
    assert answer.status == 201, answer.body


def test_a_configmap_update_without_resource_version_is_unconditional(
    api_client, namespace, stored
):
    """ConfigMaps allow a PUT without metadata.resourceVersion: the last write wins"""
    path = f"{configmaps_path(namespace)}/{stored}"
    answer = send(api_client, "PUT", path, json.dumps(_configmap(stored, "2")))
    assert (answer.status, answer.body["data"]) == (200, {"a": "2"})


def test_a_custom_resource_update_needs_a_resource_version(api_client, custom, namespace):
    """A custom resource's PUT without metadata.resourceVersion is 422"""
    name = unique("w")
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, WIDGETS, _widget(name))
    answer = send(api_client, "PUT", f"{widgets_path(namespace)}/{name}", json.dumps(_widget(name)))
    assert _refusal(answer) == (
        422,
        "Invalid",
        f'{WIDGETS}.{GROUP} "{name}" is invalid: metadata.resourceVersion: Invalid value: 0: '
        "must be specified for an update",
    )


def test_configmaps_have_no_generation_and_custom_resources_do(
    api_client, custom, namespace, stored
):
    """metadata.generation: none on a ConfigMap, even after a change; 1 on a new custom
    resource"""
    path = f"{configmaps_path(namespace)}/{stored}"
    changed = send(api_client, "PATCH", path, json.dumps({"data": {"a": "3"}}), MERGE)
    assert "generation" not in changed.body["metadata"]
    name = unique("w")
    created = custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, WIDGETS, _widget(name)
    )
    assert created["metadata"]["generation"] == 1
