"""The Kubernetes API contract the embedded server honours (docs/embedded-stack.md), through the
official client only.

Each check creates uniquely named objects; watches are bounded by `timeout_seconds` and a client
read timeout. Watch checks live in test_watch.py, schema and CEL checks in test_schema.py.
"""

from __future__ import annotations

import json
import re
import time

import pytest
from kubernetes import client

from .helpers import (
    GC_TIMEOUT,
    GIZMOS,
    GROUP,
    VERSION,
    WIDGETS,
    api_error,
    body_of,
    ensure_crd,
    eventually,
    raw,
    unique,
    wait_gone,
    watch_events,
    widget,
    widget_crd,
)

WHOLE_SECONDS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
ALPHABET = set("bcdfghjklmnpqrstvwxz2456789")


def _widgets(custom: client.CustomObjectsApi, namespace: str, **kwargs):
    return custom.list_namespaced_custom_object(GROUP, VERSION, namespace, WIDGETS, **kwargs)


def _create(custom: client.CustomObjectsApi, namespace: str, body: dict, plural: str = WIDGETS):
    return custom.create_namespaced_custom_object(GROUP, VERSION, namespace, plural, body)


def _get(custom: client.CustomObjectsApi, namespace: str, name: str, plural: str = WIDGETS):
    return custom.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)


def _patch(custom, namespace, name, body, plural=WIDGETS, **kwargs):
    return custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, plural, name, body, **kwargs
    )


# --- setup and discovery ------------------------------------------------------------------


def test_crd_create_answers_before_it_is_established(api_client, crd_api):
    body = widget_crd(f"early{unique('x')[2:]}", "Early")
    created = json.loads(
        crd_api.create_custom_resource_definition(body, _preload_content=False).data
    )
    name = body["metadata"]["name"]
    try:
        assert created["status"] == {
            "conditions": None,
            "acceptedNames": {"plural": "", "kind": ""},
            "storedVersions": [VERSION],
        }, "nothing accepted yet"
        assert not created["metadata"].get("finalizers")
        established = ensure_crd(api_client, body)
        assert established["status"]["acceptedNames"]["kind"] == "Early"
        conditions = {c["type"]: c["reason"] for c in established["status"]["conditions"]}
        assert conditions == {"NamesAccepted": "NoConflicts", "Established": "InitialNamesAccepted"}
        assert not established["metadata"].get("finalizers"), "added by the delete, not before"
    finally:
        status, deleting = raw(
            api_client, "DELETE", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}"
        )
    assert status == 200
    assert deleting["metadata"]["finalizers"] == ["customresourcecleanup.apiextensions.k8s.io"]


@pytest.mark.gap(
    "CEL rules are not costed, so a CRD whose rule could run unbounded is accepted; "
    "kube-apiserver refuses it (422, estimated rule cost exceeds budget)"
)
def test_crd_rule_over_the_cost_budget_is_refused(crd_api):
    body = widget_crd(f"costly{unique('x')[2:]}", "Costly")
    spec = body["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    spec["properties"]["names"] = {
        "type": "array",
        "items": {"type": "string"},
        "x-kubernetes-validations": [{"rule": "self.all(a, self.all(b, a == b || a != b))"}],
    }
    error = api_error(crd_api.create_custom_resource_definition, body)
    assert error.status == 422
    assert "estimated rule cost exceeds budget" in body_of(error)["message"]


def test_custom_resource_of_another_kind_is_invalid(custom, namespace):
    body = widget(unique("kind"))
    body["kind"] = "Gadget"
    error = api_error(_create, custom, namespace, body)
    status = body_of(error)
    assert (error.status, status["reason"]) == (422, "Invalid")
    assert status["message"] == (
        f'Gadget.{GROUP} "{body["metadata"]["name"]}" is invalid: '
        'kind: Invalid value: "Gadget": must be Widget'
    )
    assert status["details"]["kind"] == "Gadget"


def test_crd_create(api_client, crd_api):
    plural = f"crdtest{unique('x')[2:]}"
    body = widget_crd(plural, "CrdTest")
    created = ensure_crd(api_client, body)
    try:
        conditions = {c["type"]: c["status"] for c in created["status"]["conditions"]}
        assert conditions["NamesAccepted"] == "True"
        assert conditions["Established"] == "True"
        accepted = created["status"]["acceptedNames"]
        assert (accepted["kind"], accepted["plural"], accepted["listKind"]) == (
            "CrdTest",
            plural,
            "CrdTestList",
        )
        assert created["status"]["storedVersions"] == [VERSION]

        def discovered() -> dict:
            # A real server publishes discovery a moment after Established.
            status, resources = raw(api_client, "GET", f"/apis/{GROUP}/{VERSION}")
            assert status == 200
            found = {r["name"]: r for r in resources["resources"]}
            assert plural in found and f"{plural}/status" in found, sorted(found)
            return found

        names = eventually(discovered)
        assert names[plural]["kind"] == "CrdTest"
        assert names[plural]["namespaced"] is True
        assert names[plural]["singularName"] == "crdtest"
        assert set(names[plural]["verbs"]) >= {"get", "list", "watch", "create", "patch", "delete"}
        assert names[f"{plural}/status"]["verbs"] == ["get", "patch", "update"]
    finally:
        crd_api.delete_custom_resource_definition(body["metadata"]["name"])


def test_namespace_create(core):
    name = unique("ns")
    created = core.create_namespace({"metadata": {"name": name}})
    assert created.status.phase == "Active"
    assert created.metadata.uid and created.metadata.resource_version
    assert core.read_namespace(name).status.phase == "Active"
    assert core.read_namespace("default").status.phase == "Active"
    names = {ns.metadata.name for ns in core.list_namespace().items}
    assert {name, "default"} <= names
    error = api_error(core.create_namespace, {"metadata": {"name": name}})
    assert error.status == 409
    invalid = api_error(core.create_namespace, {"metadata": {"name": "Not_Valid"}})
    assert invalid.status == 422


def test_discovery_version(api_client):
    info = client.VersionApi(api_client).get_code()
    for field in (
        "major",
        "minor",
        "git_version",
        "git_commit",
        "git_tree_state",
        "build_date",
        "go_version",
        "compiler",
        "platform",
    ):
        assert getattr(info, field), field


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/version", None),
        ("/version/", None),
        ("/api", "APIVersions"),
        ("/api/", "APIVersions"),
        ("/apis", "APIGroupList"),
        ("/apis/", "APIGroupList"),
        (f"/apis/{GROUP}", "APIGroup"),
        (f"/apis/{GROUP}/", "APIGroup"),
        (f"/apis/{GROUP}/{VERSION}", "APIResourceList"),
        (f"/apis/{GROUP}/{VERSION}/", "APIResourceList"),
        ("/api/v1", "APIResourceList"),
        ("/api/v1/", "APIResourceList"),
    ],
)
def test_discovery_raw_paths(api_client, crds_ready, path, kind):
    status, body = raw(api_client, "GET", path)
    assert status == 200, body
    if kind is None:
        assert body["gitVersion"] and body["major"]
    else:
        assert body["kind"] == kind


def test_discovery_apis(api_client, crds_ready):
    groups = {g.name: g for g in client.ApisApi(api_client).get_api_versions().groups}
    assert groups[GROUP].preferred_version.group_version == f"{GROUP}/{VERSION}"
    assert "apiextensions.k8s.io" in groups
    assert client.CoreApi(api_client).get_api_versions().versions == ["v1"]
    group = client.ApiextensionsApi(api_client).get_api_group()
    assert group.name == "apiextensions.k8s.io"
    _, resources = raw(api_client, "GET", f"/apis/{GROUP}/{VERSION}")
    names = {r["name"]: r for r in resources["resources"]}
    assert names[WIDGETS]["namespaced"] is True
    assert f"{WIDGETS}/status" in names
    assert f"{GIZMOS}/status" not in names
    core_resources = {r.name: r for r in client.CoreV1Api(api_client).get_api_resources().resources}
    assert core_resources["namespaces"].namespaced is False
    assert core_resources["events"].namespaced is True


# --- create, get, list --------------------------------------------------------------------


def test_create_get_metadata(custom, namespace):
    name = unique("w")
    body = widget(name, size=3)
    body["metadata"].update(deletionTimestamp="2020-01-01T00:00:00Z", uid="client-chosen")
    created = _create(custom, namespace, body)
    assert created is not None, "create must answer 201 or the client returns None"
    assert "deletionTimestamp" not in created["metadata"], "client-supplied values are ignored"
    assert created["metadata"]["uid"] != "client-chosen"
    metadata = created["metadata"]
    assert created["apiVersion"] == f"{GROUP}/{VERSION}"
    assert created["kind"] == "Widget"
    assert metadata["namespace"] == namespace
    assert re.fullmatch(r"[0-9a-f-]{36}", metadata["uid"])
    assert WHOLE_SECONDS.match(metadata["creationTimestamp"])
    assert metadata["resourceVersion"].isdigit()
    assert metadata["generation"] == 1
    assert _get(custom, namespace, name) == created
    other = dict(widget(unique("w")), metadata={"name": unique("w"), "namespace": "elsewhere"})
    assert api_error(_create, custom, namespace, other).status == 400


def test_create_duplicate_409(custom, namespace):
    name = unique("w")
    _create(custom, namespace, widget(name))
    error = api_error(_create, custom, namespace, widget(name))
    assert error.status == 409
    assert body_of(error)["reason"] == "AlreadyExists"
    assert body_of(error)["details"]["name"] == name


def test_get_missing_404(custom, namespace):
    error = api_error(_get, custom, namespace, unique("missing"))
    assert error.status == 404
    status = body_of(error)
    assert status["kind"] == "Status"
    assert status["reason"] == "NotFound"
    assert status["details"]["group"] == GROUP
    assert status["details"]["kind"] == WIDGETS


def test_generate_name(custom, namespace):
    first = _create(custom, namespace, widget())
    second = _create(custom, namespace, widget())
    names = [first["metadata"]["name"], second["metadata"]["name"]]
    assert names[0] != names[1]
    for name in names:
        assert name.startswith("widget-")
        suffix = name[len("widget-") :]
        assert len(suffix) == 5 and set(suffix) <= ALPHABET
    nameless = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Widget",
        "metadata": {},
        "spec": {"size": 1},
    }
    error = api_error(_create, custom, namespace, nameless)
    assert error.status == 422


def test_list_label_selector(custom, namespace):
    run = unique("run")
    specs = {"a": {"app": "a", "tier": "web"}, "b": {"app": "b"}, "c": {"app": "c"}, "none": {}}
    names = {}
    for key, labels in specs.items():
        body = widget(unique(f"sel-{key}"))
        body["metadata"]["labels"] = {"run": run, **labels}
        names[key] = _create(custom, namespace, body)["metadata"]["name"]

    def selected(selector: str) -> set[str]:
        items = _widgets(custom, namespace, label_selector=f"run={run},{selector}")["items"]
        return {
            next(k for k, v in names.items() if v == item["metadata"]["name"]) for item in items
        }

    assert selected("app=a") == {"a"}
    assert selected("app==a") == {"a"}
    assert selected("app!=a") == {"b", "c", "none"}
    assert selected("app in (a, b)") == {"a", "b"}
    assert selected("app notin (a,b)") == {"c", "none"}
    assert selected("app") == {"a", "b", "c"}
    assert selected("!app") == {"none"}
    assert selected("app=a,tier=web") == {"a"}
    assert selected("tier=web,app=b") == set()
    assert api_error(_widgets, custom, namespace, label_selector="app in (a").status == 400


def test_list_field_selector(custom, namespace):
    first = _create(custom, namespace, widget(unique("fs")))["metadata"]["name"]
    second = _create(custom, namespace, widget(unique("fs")))["metadata"]["name"]
    by_name = _widgets(custom, namespace, field_selector=f"metadata.name={first}")["items"]
    assert [item["metadata"]["name"] for item in by_name] == [first]
    double = _widgets(custom, namespace, field_selector=f"metadata.name=={second}")["items"]
    assert [item["metadata"]["name"] for item in double] == [second]
    others = _widgets(custom, namespace, field_selector=f"metadata.name!={first}")["items"]
    assert first not in {item["metadata"]["name"] for item in others}
    assert second in {item["metadata"]["name"] for item in others}
    in_namespace = custom.list_cluster_custom_object(
        GROUP,
        VERSION,
        WIDGETS,
        field_selector=f"metadata.namespace={namespace},metadata.name={first}",
    )["items"]
    assert [item["metadata"]["name"] for item in in_namespace] == [first]
    error = api_error(_widgets, custom, namespace, field_selector="spec.size=1")
    assert error.status == 400


def test_list_all_namespaces(custom, core, namespace):
    other = unique("ns")
    core.create_namespace({"metadata": {"name": other}})
    label = unique("all")
    for ns in (namespace, other):
        body = widget(unique("w"))
        body["metadata"]["labels"] = {"all": label}
        _create(custom, ns, body)
    listed = custom.list_cluster_custom_object(
        GROUP, VERSION, WIDGETS, label_selector=f"all={label}"
    )
    assert listed["kind"] == "WidgetList"
    assert listed["apiVersion"] == f"{GROUP}/{VERSION}"
    assert listed["metadata"]["resourceVersion"].isdigit()
    assert sorted(item["metadata"]["namespace"] for item in listed["items"]) == sorted(
        [namespace, other]
    )


# --- patch and replace --------------------------------------------------------------------


def test_merge_patch_generation_rv(custom, namespace):
    name = unique("mp")
    created = _create(custom, namespace, widget(name, size=1))
    rv0 = int(created["metadata"]["resourceVersion"])
    spec_changed = _patch(custom, namespace, name, {"spec": {"size": 2}})
    assert spec_changed["metadata"]["generation"] == 2
    rv1 = int(spec_changed["metadata"]["resourceVersion"])
    assert rv1 > rv0
    labelled = _patch(custom, namespace, name, {"metadata": {"labels": {"x": "y"}}})
    assert labelled["metadata"]["generation"] == 2
    assert int(labelled["metadata"]["resourceVersion"]) > rv1
    rv2 = labelled["metadata"]["resourceVersion"]
    same = _patch(
        custom, namespace, name, {"spec": {"size": 2}, "metadata": {"labels": {"x": "y"}}}
    )
    assert same["metadata"]["resourceVersion"] == rv2
    assert same["metadata"]["generation"] == 2
    marker = _patch(custom, namespace, name, {"spec": {"size": 3}})
    events = watch_events(
        custom.list_namespaced_custom_object,
        GROUP,
        VERSION,
        namespace,
        WIDGETS,
        resource_version=rv2,
        field_selector=f"metadata.name={name}",
        until=lambda events: events[-1]["type"] != "BOOKMARK",
    )
    first = events[-1]["object"]["metadata"]["resourceVersion"]
    assert first == marker["metadata"]["resourceVersion"], "the no-op write emitted no event"


def test_merge_patch_null_deletes_key(api_client, custom, namespace):
    name = unique("mp")
    _create(custom, namespace, widget(name, color="red", tags=["a", "b"]))
    patched = _patch(custom, namespace, name, {"spec": {"color": None, "tags": ["c"]}})
    assert "color" not in patched["spec"]
    assert patched["spec"]["tags"] == ["c"], "lists are replaced whole"
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{WIDGETS}/{name}"
    status, body = raw(
        api_client, "PATCH", path, ["not", "an", "object"], "application/merge-patch+json"
    )
    assert status == 400, body


def test_json_patch(api_client, custom, namespace):
    name = unique("jp")
    _create(custom, namespace, widget(name, size=1, tags=["a"]))
    ops = [
        {"op": "test", "path": "/spec/size", "value": 1},
        {"op": "replace", "path": "/spec/size", "value": 4},
        {"op": "add", "path": "/spec/tags/-", "value": "b"},
        {"op": "add", "path": "/metadata/labels", "value": {"k": "v"}},
        {"op": "copy", "from": "/spec/tags/0", "path": "/spec/label"},
        {"op": "move", "from": "/spec/label", "path": "/spec/color"},
        {"op": "remove", "path": "/spec/color"},
    ]
    patched = _patch(custom, namespace, name, ops, _content_type="application/json-patch+json")
    assert patched["spec"]["size"] == 4
    assert patched["spec"]["tags"] == ["a", "b"]
    assert patched["metadata"]["labels"] == {"k": "v"}
    failed = api_error(
        _patch,
        custom,
        namespace,
        name,
        [{"op": "test", "path": "/spec/size", "value": 1}],
        _content_type="application/json-patch+json",
    )
    assert failed.status == 422
    missing = api_error(
        _patch,
        custom,
        namespace,
        name,
        [{"op": "remove", "path": "/spec/nothing"}],
        _content_type="application/json-patch+json",
    )
    assert missing.status == 422
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{WIDGETS}/{name}"
    status, body = raw(
        api_client, "PATCH", path, {"spec": {"size": 5}}, "application/strategic-merge-patch+json"
    )
    assert (status, body["reason"]) == (415, "UnsupportedMediaType"), "no strategic merge for CRs"


@pytest.mark.gap(
    "server-side apply (application/apply-patch+yaml) is not served, so there are no field "
    "managers, no apply conflicts and no managedFields; kube-apiserver applies"
)
def test_server_side_apply(api_client, custom, namespace):
    name = unique("ssa")
    _create(custom, namespace, widget(name, size=1))
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{WIDGETS}/{name}"
    intent = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Widget", "metadata": {"name": name}}
    apply = "application/apply-patch+yaml"
    status, body = raw(api_client, "PATCH", path, {**intent, "spec": {"size": 5}}, apply)
    assert (status, body["details"]["causes"][0]["field"]) == (422, "fieldManager")
    status, body = raw(
        api_client, "PATCH", f"{path}?fieldManager=tester", {**intent, "spec": {"size": 5}}, apply
    )
    assert (status, body["reason"]) == (409, "Conflict"), "size belongs to the creator"
    status, body = raw(
        api_client,
        "PATCH",
        f"{path}?fieldManager=tester&force=true",
        {**intent, "spec": {"size": 5}},
        apply,
    )
    assert (status, body["spec"]["size"]) == (200, 5)
    managers = {entry["manager"] for entry in body["metadata"]["managedFields"]}
    assert "tester" in managers


def test_replace_put(custom, namespace):
    name = unique("put")
    created = _create(custom, namespace, widget(name, size=1))
    created["spec"]["size"] = 6
    replaced = custom.replace_namespaced_custom_object(
        GROUP, VERSION, namespace, WIDGETS, name, created
    )
    assert replaced["spec"]["size"] == 6
    assert replaced["metadata"]["generation"] == 2
    assert replaced["metadata"]["uid"] == created["metadata"]["uid"]
    assert int(replaced["metadata"]["resourceVersion"]) > int(
        created["metadata"]["resourceVersion"]
    )


def test_replace_stale_rv_409(custom, namespace):
    name = unique("put")
    created = _create(custom, namespace, widget(name))
    _patch(custom, namespace, name, {"spec": {"size": 2}})
    created["spec"]["size"] = 3
    error = api_error(
        custom.replace_namespaced_custom_object, GROUP, VERSION, namespace, WIDGETS, name, created
    )
    assert error.status == 409
    assert body_of(error)["reason"] == "Conflict"


def test_patch_stale_rv_precondition_409(custom, namespace):
    name = unique("pre")
    created = _create(custom, namespace, widget(name))
    stale = created["metadata"]["resourceVersion"]
    _patch(custom, namespace, name, {"spec": {"size": 2}})
    error = api_error(
        _patch,
        custom,
        namespace,
        name,
        {"metadata": {"resourceVersion": stale}, "spec": {"size": 3}},
    )
    assert error.status == 409
    current = _get(custom, namespace, name)["metadata"]["resourceVersion"]
    ok = _patch(
        custom, namespace, name, {"metadata": {"resourceVersion": current}, "spec": {"size": 3}}
    )
    assert ok["spec"]["size"] == 3


def test_replace_without_rv(custom, namespace):
    name = unique("put")
    created = _create(custom, namespace, widget(name))
    del created["metadata"]["resourceVersion"]
    error = api_error(
        custom.replace_namespaced_custom_object, GROUP, VERSION, namespace, WIDGETS, name, created
    )
    assert error.status == 422
    assert body_of(error)["details"]["causes"][0]["field"] == "metadata.resourceVersion"


# --- status subresource -------------------------------------------------------------------


def test_status_subresource_patch(custom, namespace):
    name = unique("st")
    _create(custom, namespace, widget(name, size=2))
    patched = custom.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        namespace,
        WIDGETS,
        name,
        {"status": {"phase": "Ready"}, "spec": {"size": 9}},
    )
    assert patched["status"] == {"phase": "Ready"}
    assert patched["spec"]["size"] == 2, "/status keeps spec"
    assert patched["metadata"]["generation"] == 1, "status writes never bump generation"


def test_main_endpoint_ignores_status(custom, namespace):
    name = unique("st")
    _create(custom, namespace, widget(name))
    custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, WIDGETS, name, {"status": {"phase": "Ready"}}
    )
    patched = _patch(custom, namespace, name, {"status": {"phase": "Hacked"}, "spec": {"size": 2}})
    assert patched["status"] == {"phase": "Ready"}
    assert patched["spec"]["size"] == 2
    patched["status"] = {"phase": "Replaced"}
    replaced = custom.replace_namespaced_custom_object(
        GROUP, VERSION, namespace, WIDGETS, name, patched
    )
    assert replaced["status"] == {"phase": "Ready"}


def test_create_drops_status(custom, namespace):
    body = widget(unique("st"))
    body["status"] = {"phase": "Faked"}
    created = _create(custom, namespace, body)
    assert "status" not in created


def test_status_get_and_replace(custom, namespace):
    name = unique("st")
    _create(custom, namespace, widget(name, size=2))
    current = custom.get_namespaced_custom_object_status(GROUP, VERSION, namespace, WIDGETS, name)
    stale = dict(current, status={"phase": "Old"})
    current["status"] = {"phase": "Running", "count": 1}
    current["spec"] = {"size": 7}
    replaced = custom.replace_namespaced_custom_object_status(
        GROUP, VERSION, namespace, WIDGETS, name, current
    )
    assert replaced["status"] == {"phase": "Running", "count": 1}
    assert replaced["spec"]["size"] == 2
    error = api_error(
        custom.replace_namespaced_custom_object_status,
        GROUP,
        VERSION,
        namespace,
        WIDGETS,
        name,
        stale,
    )
    assert error.status == 409
    stale_patch = {
        "metadata": {"resourceVersion": stale["metadata"]["resourceVersion"]},
        "status": {"phase": "X"},
    }
    assert (
        api_error(
            custom.patch_namespaced_custom_object_status,
            GROUP,
            VERSION,
            namespace,
            WIDGETS,
            name,
            stale_patch,
        ).status
        == 409
    )


def test_status_subresource_disabled(api_client, custom, namespace):
    name = unique("gz")
    body = widget(name)
    body["kind"] = "Gizmo"
    body["status"] = {"phase": "Kept"}
    created = _create(custom, namespace, body, GIZMOS)
    assert created["status"] == {"phase": "Kept"}, "without the subresource create keeps status"
    patched = _patch(custom, namespace, name, {"status": {"phase": "Changed"}}, GIZMOS)
    assert patched["status"] == {"phase": "Changed"}
    assert patched["metadata"]["generation"] == 2, "status is ordinary content here"
    status, _ = raw(
        api_client, "GET", f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{GIZMOS}/{name}/status"
    )
    assert status == 404


# --- deletion and garbage collection ------------------------------------------------------


def test_finalizers_delete(custom, namespace):
    name = unique("fin")
    body = widget(name)
    body["metadata"]["finalizers"] = ["example.com/keep"]
    created = _create(custom, namespace, body)
    deleting = custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, WIDGETS, name)
    assert deleting["metadata"]["deletionTimestamp"]
    assert WHOLE_SECONDS.match(deleting["metadata"]["deletionTimestamp"])
    assert deleting["metadata"]["deletionGracePeriodSeconds"] == 0
    assert int(deleting["metadata"]["resourceVersion"]) > int(
        created["metadata"]["resourceVersion"]
    )
    again = custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, WIDGETS, name)
    assert again["metadata"]["resourceVersion"] == deleting["metadata"]["resourceVersion"]
    error = api_error(
        _patch,
        custom,
        namespace,
        name,
        {"metadata": {"finalizers": ["example.com/keep", "example.com/new"]}},
    )
    assert error.status == 422
    released = _patch(custom, namespace, name, {"metadata": {"finalizers": None}})
    assert not released["metadata"].get("finalizers"), "the object as the patch wrote it"
    assert released["metadata"]["resourceVersion"] == deleting["metadata"]["resourceVersion"]
    assert api_error(_get, custom, namespace, name).status == 404
    events = watch_events(
        custom.list_namespaced_custom_object,
        GROUP,
        VERSION,
        namespace,
        WIDGETS,
        resource_version=created["metadata"]["resourceVersion"],
        field_selector=f"metadata.name={name}",
        until=lambda events: events[-1]["type"] == "DELETED",
    )
    types = [e["type"] for e in events if e["type"] != "BOOKMARK"]
    assert types == ["MODIFIED", "DELETED"], "marked, then gone in the write of its last finalizer"
    marked, gone = events[0]["object"]["metadata"], events[-1]["object"]["metadata"]
    assert marked["resourceVersion"] == deleting["metadata"]["resourceVersion"]
    assert int(gone["resourceVersion"]) > int(marked["resourceVersion"])
    assert gone["finalizers"] == ["example.com/keep"], "DELETED carries the last stored version"


def test_delete_plain(custom, namespace):
    name = unique("del")
    created = _create(custom, namespace, widget(name))
    deleted = custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, WIDGETS, name)
    assert (deleted["kind"], deleted["status"]) == ("Status", "Success")
    assert deleted["details"] == {
        "name": name,
        "group": GROUP,
        "kind": WIDGETS,
        "uid": created["metadata"]["uid"],
    }
    assert api_error(_get, custom, namespace, name).status == 404
    events = watch_events(
        custom.list_namespaced_custom_object,
        GROUP,
        VERSION,
        namespace,
        WIDGETS,
        resource_version=created["metadata"]["resourceVersion"],
        field_selector=f"metadata.name={name}",
        timeout=2,
        until=lambda events: events[-1]["type"] == "DELETED",
    )
    assert events[-1]["type"] == "DELETED"
    final_rv = int(events[-1]["object"]["metadata"]["resourceVersion"])
    assert final_rv > int(created["metadata"]["resourceVersion"])
    assert (
        api_error(
            custom.delete_namespaced_custom_object, GROUP, VERSION, namespace, WIDGETS, name
        ).status
        == 404
    )


@pytest.mark.parametrize(
    ("path", "details_group", "answers_object"),
    [
        ("/api/v1/namespaces/{ns}/configmaps", None, False),
        ("/apis/coordination.k8s.io/v1/namespaces/{ns}/leases", "coordination.k8s.io", False),
        ("/api/v1/namespaces/{ns}/serviceaccounts", None, True),
    ],
    ids=["configmaps", "leases", "serviceaccounts"],
)
def test_delete_answer_by_kind(api_client, namespace, path, details_group, answers_object):
    """Built-ins answer a Status like custom resources, except the registries that return the
    deleted object (serviceaccounts, pods, namespaces)."""
    collection = path.format(ns=namespace)
    name = unique("gone")
    status, created = raw(api_client, "POST", collection, {"metadata": {"name": name}})
    assert status == 201
    status, answer = raw(api_client, "DELETE", f"{collection}/{name}")
    assert status == 200
    if answers_object:
        assert answer["kind"] == created["kind"]
        assert answer["metadata"]["uid"] == created["metadata"]["uid"]
        return
    plural = collection.rsplit("/", 1)[1]
    expected = {"name": name, "kind": plural, "uid": created["metadata"]["uid"]}
    if details_group:
        expected["group"] = details_group
    assert answer == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": expected,
    }


def test_delete_waiting_for_finalizers_with_orphan_dependents_false_is_202(custom, namespace):
    name = unique("acc")
    body = widget(name)
    body["metadata"]["finalizers"] = ["example.com/keep"]
    _create(custom, namespace, body)
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{WIDGETS}/{name}"
    api_client = custom.api_client
    status, answer = raw(api_client, "DELETE", path, {"orphanDependents": False})
    assert (status, answer["kind"]) == (202, "Widget")
    assert raw(api_client, "DELETE", path)[0] == 200, "200 without the option"
    released = _patch(custom, namespace, name, {"metadata": {"finalizers": None}})
    assert released["metadata"]["deletionTimestamp"]


@pytest.mark.parametrize(
    ("policy", "finalizer"), [("Foreground", "foregroundDeletion"), ("Orphan", "orphan")]
)
def test_delete_policy_without_dependents_waits_for_the_collector(
    custom, namespace, policy, finalizer
):
    """An asked-for policy adds its finalizer even with no dependents; the garbage collector
    then releases it."""
    name = unique("pol")
    _create(custom, namespace, widget(name))
    deleting = custom.delete_namespaced_custom_object(
        GROUP, VERSION, namespace, WIDGETS, name, propagation_policy=policy
    )
    assert deleting["kind"] == "Widget"
    assert deleting["metadata"]["finalizers"] == [finalizer]
    wait_gone(custom, GROUP, VERSION, namespace, WIDGETS, name)


def _owned(name: str, *owners: dict, finalizers: list[str] | None = None) -> dict:
    body = widget(name)
    body["kind"] = "Gizmo"
    body["metadata"]["ownerReferences"] = [
        {
            "apiVersion": owner["apiVersion"],
            "kind": owner["kind"],
            "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"],
        }
        for owner in owners
    ]
    if finalizers:
        body["metadata"]["finalizers"] = finalizers
    return body


def test_owner_refs_gc(custom, namespace):
    owner = _create(custom, namespace, widget(unique("owner")))
    other_owner = _create(custom, namespace, widget(unique("owner")))
    only_child = _create(custom, namespace, _owned(unique("child"), owner), GIZMOS)
    shared_child = _create(custom, namespace, _owned(unique("child"), owner, other_owner), GIZMOS)
    held_child = _create(
        custom, namespace, _owned(unique("child"), owner, finalizers=["example.com/hold"]), GIZMOS
    )
    custom.delete_namespaced_custom_object(
        GROUP, VERSION, namespace, WIDGETS, owner["metadata"]["name"]
    )
    wait_gone(custom, GROUP, VERSION, namespace, GIZMOS, only_child["metadata"]["name"])

    def settled() -> None:
        shared = _get(custom, namespace, shared_child["metadata"]["name"], GIZMOS)
        assert [ref["uid"] for ref in shared["metadata"]["ownerReferences"]] == [
            other_owner["metadata"]["uid"]
        ], "a dependent with another owner loses only the deleted one"
        held = _get(custom, namespace, held_child["metadata"]["name"], GIZMOS)
        assert held["metadata"]["deletionTimestamp"], "a dependent with finalizers is only marked"

    eventually(settled, timeout=GC_TIMEOUT)
    _patch(
        custom,
        namespace,
        held_child["metadata"]["name"],
        {"metadata": {"finalizers": None}},
        GIZMOS,
    )
    assert api_error(_get, custom, namespace, held_child["metadata"]["name"], GIZMOS).status == 404


def test_delete_propagation_policies(custom, namespace):
    orphan_owner = _create(custom, namespace, widget(unique("owner")))
    orphan = _create(custom, namespace, _owned(unique("child"), orphan_owner), GIZMOS)
    custom.delete_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        WIDGETS,
        orphan_owner["metadata"]["name"],
        propagation_policy="Orphan",
    )
    wait_gone(custom, GROUP, VERSION, namespace, WIDGETS, orphan_owner["metadata"]["name"])
    kept = _get(custom, namespace, orphan["metadata"]["name"], GIZMOS)
    assert not kept["metadata"].get("ownerReferences")

    fg_owner = _create(custom, namespace, widget(unique("owner")))
    body = _owned(unique("child"), fg_owner)
    body["metadata"]["ownerReferences"][0]["blockOwnerDeletion"] = True
    child = _create(custom, namespace, body, GIZMOS)
    deleting = custom.delete_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        WIDGETS,
        fg_owner["metadata"]["name"],
        propagation_policy="Foreground",
    )
    assert "foregroundDeletion" in deleting["metadata"]["finalizers"]
    wait_gone(custom, GROUP, VERSION, namespace, GIZMOS, child["metadata"]["name"])
    wait_gone(custom, GROUP, VERSION, namespace, WIDGETS, fg_owner["metadata"]["name"])


# --- other --------------------------------------------------------------------------------


def test_core_events(core, namespace):
    involved = unique("thing")
    event = {
        "metadata": {"generateName": f"{involved}."},
        "involvedObject": {"kind": "Widget", "name": involved, "namespace": namespace},
        "reason": "Tested",
        "message": "hello",
        "type": "Normal",
    }
    created = core.create_namespaced_event(namespace, event)
    assert created.metadata.name.startswith(f"{involved}.")
    listed = core.list_namespaced_event(namespace, field_selector=f"involvedObject.name={involved}")
    assert [e.reason for e in listed.items] == ["Tested"]
    assert core.read_namespaced_event(created.metadata.name, namespace).message == "hello"


def test_crd_registration_effect(api_client, crd_api, custom, namespace):
    plural = f"reg{unique('x')[2:]}"
    body = widget_crd(plural, "Reg")
    list_path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{plural}"
    assert raw(api_client, "GET", list_path)[0] == 404
    ensure_crd(api_client, body)
    assert raw(api_client, "GET", list_path)[0] == 200
    item = widget(unique("r"))
    item["kind"] = "Reg"
    item["metadata"]["finalizers"] = ["example.com/hold"]
    created = _create(custom, namespace, item, plural)
    crd_api.delete_custom_resource_definition(body["metadata"]["name"])
    terminating = crd_api.read_custom_resource_definition(body["metadata"]["name"])
    assert terminating.metadata.deletion_timestamp, "a CRD with objects waits for them"

    def held() -> None:
        assert _get(custom, namespace, created["metadata"]["name"], plural)["metadata"].get(
            "deletionTimestamp"
        ), "its objects are deleted first"

    eventually(held)
    _patch(
        custom, namespace, created["metadata"]["name"], {"metadata": {"finalizers": None}}, plural
    )

    def removed() -> None:
        assert raw(api_client, "GET", list_path)[0] == 404
        assert (
            api_error(crd_api.read_custom_resource_definition, body["metadata"]["name"]).status
            == 404
        )

    eventually(removed)


def test_crd_unknown_resource_404(api_client, custom, namespace):
    error = api_error(custom.list_namespaced_custom_object, GROUP, VERSION, namespace, "nothings")
    assert error.status == 404
    assert raw(api_client, "GET", "/apis/nowhere.example.com/v1/things")[0] == 404
    assert raw(api_client, "GET", "/apis/nowhere.example.com")[0] == 404


def test_namespace_must_exist(custom):
    missing = unique("absent")
    error = api_error(_create, custom, missing, widget(unique("w")))
    assert error.status == 404
    assert body_of(error)["details"]["kind"] == "namespaces"


def test_pagination(custom, namespace):
    label = unique("page")
    names = []
    for _ in range(7):
        body = widget(unique("p"))
        body["metadata"]["labels"] = {"page": label}
        names.append(_create(custom, namespace, body)["metadata"]["name"])
    selector = f"page={label}"
    first = _widgets(custom, namespace, label_selector=selector, limit=3)
    assert len(first["items"]) == 3
    token = first["metadata"]["continue"]
    assert token
    late = widget(unique("p"))
    late["metadata"]["labels"] = {"page": label}
    _create(custom, namespace, late)
    removed = first["items"][0]["metadata"]["name"]
    custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, WIDGETS, removed)
    seen = [item["metadata"]["name"] for item in first["items"]]
    while token:
        page = _widgets(custom, namespace, label_selector=selector, limit=3, _continue=token)
        seen += [item["metadata"]["name"] for item in page["items"]]
        assert page["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
        token = page["metadata"].get("continue")
    assert seen == sorted(names), "pages form one consistent snapshot in stable order"
    unlabelled = _widgets(custom, namespace, limit=2)
    assert unlabelled["metadata"]["remainingItemCount"] >= 1


def test_namespace_delete_cascade(core, custom):
    name = unique("doomed")
    core.create_namespace({"metadata": {"name": name}})
    held = widget(unique("held"))
    held["metadata"]["finalizers"] = ["example.com/hold"]
    held_name = _create(custom, name, held)["metadata"]["name"]
    plain_name = _create(custom, name, widget(unique("plain")))["metadata"]["name"]
    core.delete_namespace(name)
    terminating = core.read_namespace(name)
    assert terminating.status.phase == "Terminating"
    assert terminating.metadata.deletion_timestamp
    wait_gone(custom, GROUP, VERSION, name, WIDGETS, plain_name)
    assert core.read_namespace(name).status.phase == "Terminating", "waits for the held object"
    assert api_error(_create, custom, name, widget(unique("late"))).status == 403
    _patch(custom, name, held_name, {"metadata": {"finalizers": None}})
    events = watch_events(
        core.list_namespace,
        field_selector=f"metadata.name={name}",
        resource_version=terminating.metadata.resource_version,
        timeout=GC_TIMEOUT,
        until=lambda events: events[-1]["type"] == "DELETED",
    )
    assert events[-1]["type"] == "DELETED"


def test_dangling_owner_reference_is_collected(custom, namespace):
    ghost = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Widget",
        "metadata": {"name": "ghost", "uid": "00000000-0000-0000-0000-000000000000"},
    }
    orphan = _create(custom, namespace, _owned(unique("orphan"), ghost), GIZMOS)
    wait_gone(custom, GROUP, VERSION, namespace, GIZMOS, orphan["metadata"]["name"])


def test_delete_options_in_body(custom, namespace, server):
    name = unique("opt")
    created = _create(custom, namespace, widget(name))
    stale = {"preconditions": {"resourceVersion": "1"}}
    error = api_error(
        custom.delete_namespaced_custom_object, GROUP, VERSION, namespace, WIDGETS, name, body=stale
    )
    assert error.status == 409
    wrong_uid = {"preconditions": {"uid": "not-the-uid"}}
    assert (
        api_error(
            custom.delete_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            WIDGETS,
            name,
            body=wrong_uid,
        ).status
        == 409
    )
    owner = created
    child = _create(custom, namespace, _owned(unique("child"), owner), GIZMOS)
    if not server.embedded:
        # kube-controller-manager's garbage collector learns of the child from its watch; an
        # owner orphaned before that orphans nothing, and the child is then collected as
        # having no owner (a race of real Kubernetes, with nothing to wait on but time).
        time.sleep(3)
    body = {"propagationPolicy": "Orphan", "preconditions": {"uid": owner["metadata"]["uid"]}}
    custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, WIDGETS, name, body=body)
    wait_gone(custom, GROUP, VERSION, namespace, WIDGETS, name)
    assert not _get(custom, namespace, child["metadata"]["name"], GIZMOS)["metadata"].get(
        "ownerReferences"
    )


def test_crd_update_changes_schema(api_client, crd_api, custom, namespace):
    plural = f"upd{unique('x')[2:]}"
    body = widget_crd(plural, "Upd")
    ensure_crd(api_client, body)
    try:
        item = widget(unique("u"), fresh="dropped")
        item["kind"] = "Upd"
        assert "fresh" not in _create(custom, namespace, item, plural)["spec"]
        spec_schema = body["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
        spec_schema["properties"]["fresh"] = {"type": "string"}
        current = crd_api.read_custom_resource_definition(body["metadata"]["name"])
        body["metadata"]["resourceVersion"] = current.metadata.resource_version
        replaced = crd_api.replace_custom_resource_definition(body["metadata"]["name"], body)
        assert replaced.metadata.generation == 2

        def kept() -> None:
            again = widget(unique("u"), fresh="kept")
            again["kind"] = "Upd"
            assert _create(custom, namespace, again, plural)["spec"].get("fresh") == "kept"

        eventually(kept)
    finally:
        crd_api.delete_custom_resource_definition(body["metadata"]["name"])


def test_large_object(custom, namespace):
    body = widget(unique("big"), extra={"blob": "x" * (1024 * 1024 + 100)})
    created = _create(custom, namespace, body)
    assert len(created["spec"]["extra"]["blob"]) == 1024 * 1024 + 100


def test_delete_collection(custom, namespace):
    label = unique("dc")
    names = []
    for _ in range(3):
        body = widget(unique("dc"))
        body["metadata"]["labels"] = {"dc": label}
        names.append(_create(custom, namespace, body)["metadata"]["name"])
    survivor = _create(custom, namespace, widget(unique("keep")))["metadata"]["name"]
    custom.delete_collection_namespaced_custom_object(
        GROUP, VERSION, namespace, WIDGETS, label_selector=f"dc={label}"
    )
    assert _widgets(custom, namespace, label_selector=f"dc={label}")["items"] == []
    assert _get(custom, namespace, survivor)["metadata"]["name"] == survivor


def test_crd_invalid_rejected(crd_api):
    bad_rule = widget_crd(f"badrule{unique('x')[2:]}", "BadRule")
    spec = bad_rule["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    spec["x-kubernetes-validations"] = [{"rule": "self.size >", "message": "broken"}]
    assert api_error(crd_api.create_custom_resource_definition, bad_rule).status == 422
    bad_type = widget_crd(f"badtype{unique('x')[2:]}", "BadType")
    bad_type["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["type"] = (
        "thing"
    )
    assert api_error(crd_api.create_custom_resource_definition, bad_type).status == 422
    misnamed = widget_crd(f"misnamed{unique('x')[2:]}", "Misnamed")
    misnamed["metadata"]["name"] = "wrong.example.com"
    assert api_error(crd_api.create_custom_resource_definition, misnamed).status == 422
