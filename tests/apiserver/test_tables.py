"""Table output (`Accept: application/json;as=Table;...`, what `kubectl get` asks for): the
columns of custom resources (additionalPrinterColumns, or Name and Age) and of built-in kinds,
their cells, `includeObject`, pages and watches. Every expectation is kube-apiserver's answer.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from kubernetes import client

from .helpers import (
    CI_GROUP,
    CI_PLURAL,
    CI_VERSION,
    GROUP,
    VERSION,
    WIDGETS,
    compute_instance,
    ensure_crd,
    raw,
    unique,
    widget,
    widget_crd,
)

TABLE = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,"
    "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
)
AGE = re.compile(r"^(\d+[smhdy])+$")
CUSTOM = "Custom resource definition column (in JSONPath format): "
PRINTERS = "printers"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
PRINTERS_PATH = f"/apis/{GROUP}/{VERSION}/namespaces/{{ns}}/{PRINTERS}"

# (name, type, jsonPath) and the cell kube-apiserver serves for `PRINTED` (measured).
PRINTER_COLUMNS: list[tuple[str, str, str, Any]] = [
    ("Str", "string", ".spec.s", "hello"),
    ("IntAsText", "string", ".spec.i", "7"),
    ("FloatAsText", "string", ".spec.f", "2.5"),
    ("WholeFloatAsText", "string", ".spec.whole", "3"),
    ("BigAsText", "string", ".spec.big", "1.2345675e+06"),
    ("WholeBigAsText", "string", ".spec.wholeBig", "1234567"),
    ("BoolAsText", "string", ".spec.b", "true"),
    ("ListAsText", "string", ".spec.l", '["a","b","c"]'),
    ("MapAsText", "string", ".spec.m", '{"a":"x\\u003cy","z":1}'),
    ("NullAsText", "string", ".spec.n", "<no value>"),
    ("Missing", "string", ".spec.absent", None),
    ("Int", "integer", ".spec.i", 7),
    ("FloatAsInt", "integer", ".spec.negative", -2),
    ("TextAsInt", "integer", ".spec.s", None),
    ("Number", "number", ".spec.f", 2.5),
    ("IntAsNumber", "number", ".spec.i", 7),
    ("Bool", "boolean", ".spec.b", True),
    ("TextAsBool", "boolean", ".spec.s", None),
    ("BadDate", "date", ".spec.s", "<invalid>"),
    ("IntAsDate", "date", ".spec.i", None),
    ("Index", "string", ".spec.l[1]", "b"),
    ("Last", "string", ".spec.l[-1]", "c"),
    ("OutOfRange", "string", ".spec.l[7]", None),
    ("Star", "string", ".spec.l[*]", "a"),
    ("Filter", "string", '.status.conditions[?(@.type=="Ready")].status', "True"),
    ("FilterQuoted", "string", ".status.conditions[?(@.type=='Ready')].reason", "Fine"),
    ("FilterNumber", "string", ".spec.objs[?(@.n>1)].n", "2"),
    ("Mismatch", "string", '.spec.objs[?(@.n=="1")].n', None),
    ("DottedKey", "string", ".metadata.labels['app\\.kubernetes\\.io/name']", "printed"),
    ("Recursive", "string", "..reason", "Fine"),
]


def _printers_crd() -> dict[str, Any]:
    body = widget_crd(PRINTERS, "Printer")
    body["spec"]["names"]["shortNames"] = ["prt"]
    version = body["spec"]["versions"][0]
    version["schema"]["openAPIV3Schema"]["properties"]["spec"] = {
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
    }
    columns: list[dict[str, Any]] = [
        {"name": name, "type": type_, "jsonPath": path} for name, type_, path, _ in PRINTER_COLUMNS
    ]
    columns[0].update(priority=1, description="the greeting", format="password")
    columns.append({"name": "Date", "type": "date", "jsonPath": ".spec.d"})
    # A path the dialect cannot parse (double quotes) ends the columns there.
    columns.append({"name": "Unparsable", "type": "string", "jsonPath": '.spec["s"]'})
    columns.append({"name": "Dropped", "type": "string", "jsonPath": ".spec.s"})
    version["additionalPrinterColumns"] = columns
    return body


PRINTED = {
    "s": "hello",
    "i": 7,
    "f": 2.5,
    "whole": 3.0,
    "big": 1234567.5,
    "wholeBig": 1234567.0,
    "negative": -2.7,
    "b": True,
    "l": ["a", "b", "c"],
    "m": {"z": 1, "a": "x<y"},
    "n": None,
    "d": "2020-01-01T00:00:00Z",
    "objs": [{"n": 1}, {"n": 2}, {"n": 3}],
}


@pytest.fixture(scope="module")
def printers(api_client: client.ApiClient) -> None:
    ensure_crd(api_client, _printers_crd())


def _table(api_client, path: str, accept: str = TABLE, **query: str) -> dict[str, Any]:
    suffix = "&".join(f"{key}={value}" for key, value in query.items())
    status, table = raw(api_client, "GET", path + (f"?{suffix}" if suffix else ""), accept=accept)
    assert status == 200, table
    assert (table["kind"], table["apiVersion"]) == ("Table", "meta.k8s.io/v1"), table
    return table


def _shape(table: dict[str, Any]) -> list[tuple[str, str, str, int]]:
    return [(c["name"], c["type"], c["format"], c["priority"]) for c in table["columnDefinitions"]]


def _ci_path(namespace: str) -> str:
    return f"/apis/{CI_GROUP}/{CI_VERSION}/namespaces/{namespace}/{CI_PLURAL}"


# --- custom resources -------------------------------------------------------------------------


def test_custom_resource_table_has_the_crd_printer_columns(api_client, custom, namespace):
    name = unique("tbl")
    created = custom.create_namespaced_custom_object(
        CI_GROUP, CI_VERSION, namespace, CI_PLURAL, compute_instance(name)
    )
    custom.patch_namespaced_custom_object_status(
        CI_GROUP,
        CI_VERSION,
        namespace,
        CI_PLURAL,
        name,
        {"status": {"phase": "Running", "ipAddress": "10.0.0.9"}},
    )
    listed = _table(api_client, _ci_path(namespace), fieldSelector=f"metadata.name={name}")
    columns = [
        ("Template", "string", ".spec.templateID"),
        ("Cores", "integer", ".spec.cores"),
        ("Memory", "integer", ".spec.memoryGiB"),
        ("RunStrategy", "string", ".spec.runStrategy"),
        ("Phase", "string", ".status.phase"),
        ("IP", "string", ".status.ipAddress"),
    ]
    assert listed["columnDefinitions"][1:] == [
        {"name": n, "type": t, "format": "", "description": CUSTOM + p, "priority": 0}
        for n, t, p in columns
    ], "the CRD's columns after Name, and no Age"
    assert listed["columnDefinitions"][0]["name"] == "Name"
    assert listed["columnDefinitions"][0]["format"] == "name"
    (row,) = listed["rows"]
    cells = [name, "osac.templates.ocp_virt_vm", 2, 4, "Always", "Running", "10.0.0.9"]
    assert row["cells"] == cells
    assert row["object"]["kind"] == "PartialObjectMetadata"
    assert row["object"]["apiVersion"] == "meta.k8s.io/v1"
    assert row["object"]["metadata"]["uid"] == created["metadata"]["uid"]
    assert "spec" not in row["object"]
    one = _table(api_client, f"{_ci_path(namespace)}/{name}")
    assert [r["cells"] for r in one["rows"]] == [cells]
    assert one["metadata"] == {
        "resourceVersion": one["rows"][0]["object"]["metadata"]["resourceVersion"]
    }
    status_path = f"{_ci_path(namespace)}/{name}/status"
    assert [r["cells"] for r in _table(api_client, status_path)["rows"]] == [cells]


def test_printer_column_types_and_paths(api_client, custom, namespace, printers):
    name = unique("prt")
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Printer",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/name": "printed"}},
        "spec": PRINTED,
    }
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PRINTERS, body)
    custom.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        namespace,
        PRINTERS,
        name,
        {"status": {"conditions": [{"type": "Ready", "status": "True", "reason": "Fine"}]}},
    )
    table = _table(api_client, f"{PRINTERS_PATH.format(ns=namespace)}/{name}")
    definitions = table["columnDefinitions"]
    names = [c["name"] for c in definitions]
    assert names == ["Name", *(c[0] for c in PRINTER_COLUMNS), "Date"], "cut at the unparsable"
    assert definitions[1] == {
        "name": "Str",
        "type": "string",
        "format": "password",
        "description": "the greeting",
        "priority": 1,
    }
    assert definitions[2]["description"] == CUSTOM + ".spec.i"
    (row,) = table["rows"]
    expected = {column[0]: column[3] for column in PRINTER_COLUMNS}
    assert dict(zip(names[1:-1], row["cells"][1:-1], strict=True)) == expected
    assert row["cells"][0] == name
    assert AGE.match(row["cells"][-1]), row["cells"][-1]


def test_default_columns_are_name_and_age(api_client, custom, namespace):
    name = unique("age")
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, WIDGETS, widget(name))
    table = _table(api_client, f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{WIDGETS}/{name}")
    assert _shape(table) == [("Name", "string", "name", 0), ("Age", "date", "", 0)]
    assert table["columnDefinitions"][1]["description"].startswith("CreationTimestamp is")
    (row,) = table["rows"]
    assert row["cells"][0] == name
    assert AGE.match(row["cells"][1])


def test_table_include_object_and_version(api_client, custom, namespace):
    name = unique("inc")
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, WIDGETS, widget(name))
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{WIDGETS}/{name}"
    assert _table(api_client, path, includeObject="None")["rows"][0]["object"] is None
    whole = _table(api_client, path, includeObject="Object")["rows"][0]["object"]
    assert (whole["kind"], whole["spec"]["size"]) == ("Widget", 1)
    partial = _table(api_client, path, includeObject="Metadata")["rows"][0]["object"]
    assert sorted(partial) == ["apiVersion", "kind", "metadata"]
    status, error = raw(api_client, "GET", f"{path}?includeObject=Bogus", accept=TABLE)
    assert (status, error["reason"]) == (400, "BadRequest")
    assert error["message"] == (
        'Unable to convert to Table as requested: includeObject: Invalid value: "Bogus": '
        "must be 'Metadata', 'Object', 'None', or empty"
    )
    beta = "application/json;as=Table;v=v1beta1;g=meta.k8s.io"
    status, table = raw(api_client, "GET", path, accept=beta)
    assert (status, table["apiVersion"]) == (200, "meta.k8s.io/v1beta1")
    assert table["rows"][0]["object"]["apiVersion"] == "meta.k8s.io/v1beta1"
    status, plain = raw(api_client, "GET", path, accept="application/json")
    assert (status, plain["kind"]) == (200, "Widget")


def test_table_pages_and_empty_lists(api_client, custom, namespace):
    for _ in range(3):
        custom.create_namespaced_custom_object(
            GROUP, VERSION, namespace, WIDGETS, widget(unique("page"))
        )
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{WIDGETS}"
    first = _table(api_client, path, limit="1")
    assert len(first["rows"]) == 1
    assert set(first["metadata"]) == {"resourceVersion", "continue", "remainingItemCount"}
    second = _table(api_client, path, limit="1", **{"continue": first["metadata"]["continue"]})
    assert second["columnDefinitions"] == first["columnDefinitions"]
    assert second["rows"][0]["cells"][0] > first["rows"][0]["cells"][0]
    empty = _table(api_client, path, labelSelector="none=here")
    assert empty["rows"] == []
    assert set(empty["metadata"]) == {"resourceVersion"}


def test_table_watch(api_client, custom, namespace):
    name = unique("tw")
    created = custom.create_namespaced_custom_object(
        CI_GROUP, CI_VERSION, namespace, CI_PLURAL, compute_instance(name)
    )
    custom.patch_namespaced_custom_object(
        CI_GROUP, CI_VERSION, namespace, CI_PLURAL, name, {"spec": {"runStrategy": "Halted"}}
    )
    custom.delete_namespaced_custom_object(CI_GROUP, CI_VERSION, namespace, CI_PLURAL, name)
    query = (
        f"watch=true&resourceVersion={created['metadata']['resourceVersion']}"
        f"&fieldSelector=metadata.name%3D{name}&timeoutSeconds=2"
    )
    status, text = raw(api_client, "GET", f"{_ci_path(namespace)}?{query}", accept=TABLE)
    assert status == 200
    events = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert [e["type"] for e in events] == ["MODIFIED", "DELETED"]
    first, second = (e["object"] for e in events)
    assert (first["kind"], second["kind"]) == ("Table", "Table")
    assert [c["name"] for c in first["columnDefinitions"]][:2] == ["Name", "Template"]
    assert second["columnDefinitions"] is None, "only the first event carries the columns"
    assert [r["cells"][4] for r in (first["rows"][0], second["rows"][0])] == ["Halted", "Halted"]
    assert (
        first["metadata"]["resourceVersion"]
        == first["rows"][0]["object"]["metadata"]["resourceVersion"]
    )


# --- printer column validation ----------------------------------------------------------------


def test_crd_printer_columns_are_validated(api_client):
    body = widget_crd(f"cols{unique('x')[2:]}", "Cols")
    body["spec"]["versions"][0]["additionalPrinterColumns"] = [
        {"name": "A", "type": "text", "jsonPath": ".spec.a"},
        {"name": "B", "type": "string", "format": "uuid", "jsonPath": ".spec.b"},
        {"name": "C", "type": "string", "jsonPath": "spec.c"},
        {"name": "", "type": "string", "jsonPath": ".spec.d"},
        {"name": "E", "jsonPath": ".spec.e"},
        {"name": "F", "type": "string"},
    ]
    status, error = raw(api_client, "POST", CRDS, body)
    assert status == 422, error
    causes = [(c["field"], c["reason"], c["message"]) for c in error["details"]["causes"]]
    types = "must be one of boolean,date,integer,number,string"
    formats = "must be one of byte,date,date-time,double,float,int32,int64,password"
    column = "spec.additionalPrinterColumns"
    assert causes == [
        (f"{column}[0].type", "FieldValueInvalid", f'Invalid value: "text": {types}'),
        (f"{column}[1].format", "FieldValueInvalid", f'Invalid value: "uuid": {formats}'),
        (
            f"{column}[2].JSONPath",
            "FieldValueInvalid",
            'Invalid value: "spec.c": must be a simple json path starting with .',
        ),
        (f"{column}[3].name", "FieldValueRequired", "Required value"),
        (f"{column}[4].type", "FieldValueRequired", f"Required value: {types}"),
        (f"{column}[5].JSONPath", "FieldValueRequired", "Required value"),
    ]


# --- built-in kinds ---------------------------------------------------------------------------


BUILTIN_SHAPES = {
    "namespaces": [("Name", "string", "name", 0), ("Status", "string", "", 0)],
    "configmaps": [("Name", "string", "name", 0), ("Data", "string", "", 0)],
    "secrets": [
        ("Name", "string", "name", 0),
        ("Type", "string", "", 0),
        ("Data", "string", "", 0),
    ],
    "serviceaccounts": [("Name", "string", "name", 0)],
    "leases": [("Name", "string", "name", 0), ("Holder", "string", "", 0)],
}


@pytest.mark.parametrize(
    ("plural", "path", "body", "cells"),
    [
        ("namespaces", "/api/v1/namespaces", {}, ["Active"]),
        ("configmaps", "/api/v1/namespaces/{ns}/configmaps", {"data": {"a": "1", "b": "2"}}, [2]),
        (
            "secrets",
            "/api/v1/namespaces/{ns}/secrets",
            {"type": "Opaque", "data": {"a": "MQ=="}},
            ["Opaque", 1],
        ),
        ("serviceaccounts", "/api/v1/namespaces/{ns}/serviceaccounts", {}, []),
        (
            "leases",
            "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases",
            {"spec": {"holderIdentity": "me"}},
            ["me"],
        ),
    ],
    ids=["namespaces", "configmaps", "secrets", "serviceaccounts", "leases"],
)
def test_builtin_tables(api_client, namespace, plural, path, body, cells):
    collection = path.format(ns=namespace)
    name = unique("bt")
    status, _ = raw(api_client, "POST", collection, {"metadata": {"name": name}, **body})
    assert status == 201
    table = _table(api_client, f"{collection}/{name}")
    age = ("Age", "string", "", 0)
    assert _shape(table) == [*BUILTIN_SHAPES[plural], age]
    (row,) = table["rows"]
    assert row["cells"][:-1] == [name, *cells]
    assert AGE.match(row["cells"][-1])
    if plural == "namespaces":
        raw(api_client, "DELETE", f"{collection}/{name}")


def test_event_table(api_client, namespace):
    path = f"/api/v1/namespaces/{namespace}/events"
    name = unique("ev")
    event = {
        "metadata": {"name": name},
        "involvedObject": {
            "kind": "Widget",
            "name": "w1",
            "namespace": namespace,
            "fieldPath": "spec",
        },
        "reason": "Tested",
        "message": "  hello  ",
        "type": "Normal",
        "source": {"component": "tester", "host": "h1"},
        "count": 3,
        "firstTimestamp": "2020-01-01T00:00:00Z",
        "lastTimestamp": "2020-01-02T00:00:00Z",
    }
    assert raw(api_client, "POST", path, event)[0] == 201
    table = _table(api_client, f"{path}/{name}")
    assert _shape(table) == [
        ("Last Seen", "string", "", 0),
        ("Type", "string", "", 0),
        ("Reason", "string", "", 0),
        ("Object", "string", "", 0),
        ("Subobject", "string", "", 1),
        ("Source", "string", "", 1),
        ("Message", "string", "", 0),
        ("First Seen", "string", "", 1),
        ("Count", "string", "", 1),
        ("Name", "string", "name", 1),
    ]
    last, *cells, first, count, row_name = table["rows"][0]["cells"]
    assert cells == ["Normal", "Tested", "widget/w1", "spec", "tester, h1", "hello"]
    assert (count, row_name) == (3, name)
    assert AGE.match(last) and AGE.match(first) and last != first


def test_crd_table(api_client):
    table = _table(api_client, f"{CRDS}/computeinstances.osac.openshift.io")
    assert _shape(table) == [
        ("Name", "string", "name", 0),
        ("Scope", "string", "", 0),
        ("Versions", "string", "", 0),
        ("Created At", "date", "", 0),
        ("Group", "string", "", 1),
        ("Kind", "string", "", 1),
        ("ShortNames", "string", "", 1),
        ("Established", "boolean", "", 1),
    ]
    name, *cells = table["rows"][0]["cells"]
    assert name == "computeinstances.osac.openshift.io"
    assert cells[:2] == ["Namespaced", "v1alpha1(storage)"]
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", cells[2])
    assert cells[3:] == ["osac.openshift.io", "ComputeInstance", "ci", True]


def test_deployment_and_pod_columns(api_client, namespace):
    deployments = f"/apis/apps/v1/namespaces/{namespace}/deployments"
    name = unique("dep")
    labels = {"app": name}
    body = {
        "metadata": {"name": name},
        "spec": {
            "replicas": 0,
            "selector": {
                "matchLabels": labels,
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]}],
            },
            "template": {
                "metadata": {"labels": {**labels, "tier": "a"}},
                "spec": {
                    "containers": [{"name": "c1", "image": "i:1"}, {"name": "c2", "image": "i:2"}]
                },
            },
        },
    }
    assert raw(api_client, "POST", deployments, body)[0] == 201
    table = _table(api_client, f"{deployments}/{name}")
    assert _shape(table) == [
        ("Name", "string", "name", 0),
        ("Ready", "string", "", 0),
        ("Up-to-date", "string", "", 0),
        ("Available", "string", "", 0),
        ("Age", "string", "", 0),
        ("Containers", "string", "", 1),
        ("Images", "string", "", 1),
        ("Selector", "string", "", 1),
    ]
    cells = table["rows"][0]["cells"]
    assert cells[:4] == [name, "0/0", 0, 0]
    assert cells[5:] == ["c1,c2", "i:1,i:2", f"app={name},tier in (a,b)"]
    pods = _table(api_client, f"/api/v1/namespaces/{namespace}/pods")
    assert _shape(pods) == [
        ("Name", "string", "name", 0),
        ("Ready", "string", "", 0),
        ("Status", "string", "", 0),
        ("Restarts", "string", "", 0),
        ("Age", "string", "", 0),
        ("IP", "string", "", 1),
        ("Node", "string", "", 1),
        ("Nominated Node", "string", "", 1),
        ("Readiness Gates", "string", "", 1),
    ]
