"""Structural schema (validation, pruning, defaulting, formats) and CEL rules, over HTTP.

CEL checks use the project's real ComputeInstance CRD (harness/reference/crds) and a test CRD
with the list transition rule the operator's CRD gained later (data/networked-crd.yaml).
"""

from __future__ import annotations

import json

import pytest
from kubernetes import client

from .helpers import (
    CI_GROUP,
    CI_PLURAL,
    CI_VERSION,
    DATA,
    GROUP,
    VERSION,
    WIDGETS,
    api_error,
    body_of,
    compute_instance,
    ensure_crd,
    unique,
    widget,
    widget_crd,
)

NETWORKEDS = "networkeds"


def _create(custom, namespace, body, plural=WIDGETS, group=GROUP, version=VERSION):
    return custom.create_namespaced_custom_object(group, version, namespace, plural, body)


def _patch(custom, namespace, name, body, plural=WIDGETS, group=GROUP, version=VERSION):
    return custom.patch_namespaced_custom_object(group, version, namespace, plural, name, body)


def _causes(error):
    return {(c["field"], c["reason"]): c["message"] for c in body_of(error)["details"]["causes"]}


def _ci_create(custom, namespace, **spec):
    return _create(
        custom, namespace, compute_instance(unique("ci"), **spec), CI_PLURAL, CI_GROUP, CI_VERSION
    )


def _ci_patch(custom, namespace, name, body):
    return _patch(custom, namespace, name, body, CI_PLURAL, CI_GROUP, CI_VERSION)


def _networked(name, **spec):
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Networked",
        "metadata": {"name": name},
        "spec": spec,
    }


def test_crd_schema_validation(custom, namespace):
    body = widget(unique("bad"), size=11, color="green", label="Bad-1", tags=["a", "b", "c", "d"])
    body["spec"]["limits"] = {"cpu": "lots"}
    error = api_error(_create, custom, namespace, body)
    assert error.status == 422
    status = body_of(error)
    assert status["reason"] == "Invalid"
    assert status["details"]["kind"] == "Widget"
    causes = _causes(error)
    assert causes[("spec.size", "FieldValueInvalid")] == (
        "Invalid value: 11: spec.size in body should be less than or equal to 10"
    )
    assert causes[("spec.color", "FieldValueNotSupported")] == (
        'Unsupported value: "green": supported values: "red", "blue"'
    )
    assert ("spec.label", "FieldValueInvalid") in causes
    assert ("spec.tags", "FieldValueTooMany") in causes
    assert causes[("spec.limits.cpu", "FieldValueTypeInvalid")] == (
        'Invalid value: "string": spec.limits.cpu in body must be of type integer: "string"'
    )
    assert len(status["details"]["causes"]) == 5, "one cause per violation"
    missing = widget(unique("bad"))
    del missing["spec"]["size"]
    assert _causes(api_error(_create, custom, namespace, missing)) == {
        ("spec.size", "FieldValueRequired"): "Required value"
    }
    overflow = widget(unique("bad"))
    overflow["spec"]["size"] = "7"
    assert ("spec.size", "FieldValueTypeInvalid") in _causes(
        api_error(_create, custom, namespace, overflow)
    )


def test_crd_schema_pruning(custom, namespace):
    body = widget(unique("prune"), port="http", note=None)
    body["spec"]["unknown"] = {"deep": 1}
    body["spec"]["extra"] = {"anything": {"goes": [1, 2]}}
    body["spec"]["color"] = None
    body["topLevelJunk"] = True
    created = _create(custom, namespace, body)
    assert "unknown" not in created["spec"]
    assert "topLevelJunk" not in created
    assert created["spec"]["extra"] == {"anything": {"goes": [1, 2]}}, "preserve-unknown-fields"
    assert created["spec"]["port"] == "http"
    assert created["spec"]["note"] is None, "nullable keeps null"
    assert "color" not in created["spec"], "null of a non-nullable field is dropped"
    numeric = _patch(custom, namespace, created["metadata"]["name"], {"spec": {"port": 8080}})
    assert numeric["spec"]["port"] == 8080, "int-or-string takes both"


def test_defaulting(custom, namespace):
    created = _create(custom, namespace, widget(unique("def")))
    assert created["spec"]["mode"] == "auto"
    assert created["spec"]["options"] == {"retries": 3}, "defaults apply inside defaults"
    explicit = _create(
        custom, namespace, widget(unique("def"), mode="manual", options={"retries": 0})
    )
    assert explicit["spec"]["mode"] == "manual"
    assert explicit["spec"]["options"] == {"retries": 0}
    cleared = _patch(custom, namespace, explicit["metadata"]["name"], {"spec": {"mode": None}})
    assert cleared["spec"]["mode"] == "auto", "removing a defaulted field brings the default back"


def test_date_time_format(custom, namespace):
    ok = _create(custom, namespace, widget(unique("dt"), stamp="2026-03-01T10:00:00Z"))
    assert ok["spec"]["stamp"] == "2026-03-01T10:00:00Z"
    error = api_error(_create, custom, namespace, widget(unique("dt"), stamp="yesterday"))
    assert error.status == 422
    assert _causes(error) == {
        ("spec.stamp", "FieldValueTypeInvalid"): (
            'Invalid value: "yesterday": spec.stamp in body must be of type date-time: "yesterday"'
        )
    }
    ci = _ci_create(custom, namespace)
    name = ci["metadata"]["name"]
    for bad in ("2026-03-01 10:00:00", "2026-13-01T10:00:00Z", "now", "2026-03-01"):
        error = api_error(_ci_patch, custom, namespace, name, {"spec": {"restartRequestedAt": bad}})
        assert error.status == 422, bad
        assert ("spec.restartRequestedAt", "FieldValueTypeInvalid") in _causes(error)
    for good in ("2026-03-01T10:00:00Z", "2026-03-01T10:00:00.5Z", "2026-03-01T12:00:00+02:00"):
        patched = _ci_patch(custom, namespace, name, {"spec": {"restartRequestedAt": good}})
        assert patched["spec"]["restartRequestedAt"] == good


def test_cel_immutability_on_update(custom, namespace):
    ci = _ci_create(custom, namespace, sshKey="ssh-ed25519 AAAA")
    name = ci["metadata"]["name"]
    error = api_error(_ci_patch, custom, namespace, name, {"spec": {"cores": 8}})
    assert error.status == 422
    status = body_of(error)
    assert status["message"] == (
        f'ComputeInstance.{CI_GROUP} "{name}" is invalid: '
        "spec.cores: Invalid value: 8: cores is immutable"
    )
    assert status["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "message": "Invalid value: 8: cores is immutable",
            "field": "spec.cores",
        }
    ]
    several = api_error(
        _ci_patch,
        custom,
        namespace,
        name,
        {
            "spec": {
                "memoryGiB": 16,
                "image": {"sourceRef": "quay.io/other:1"},
                "bootDisk": {"sizeGiB": 40},
                "sshKey": "ssh-rsa BBBB",
            }
        },
    )
    messages = {c["field"]: c["message"] for c in body_of(several)["details"]["causes"]}
    assert messages == {
        "spec.memoryGiB": "Invalid value: 16: memoryGiB is immutable",
        "spec.image": "Invalid value: image is immutable",
        "spec.bootDisk": "Invalid value: bootDisk is immutable",
        "spec.sshKey": 'Invalid value: "ssh-rsa BBBB": sshKey is immutable',
    }
    mutable = _ci_patch(
        custom,
        namespace,
        name,
        {"spec": {"runStrategy": "Halted", "restartRequestedAt": "2026-01-01T00:00:00Z"}},
    )
    assert mutable["spec"]["runStrategy"] == "Halted"
    assert mutable["metadata"]["generation"] == 2
    current = custom.get_namespaced_custom_object(CI_GROUP, CI_VERSION, namespace, CI_PLURAL, name)
    current["spec"]["cores"] = 4
    replaced = api_error(
        custom.replace_namespaced_custom_object,
        CI_GROUP,
        CI_VERSION,
        namespace,
        CI_PLURAL,
        name,
        current,
    )
    assert "cores is immutable" in body_of(replaced)["message"], "PUT is checked too"


def test_cel_skipped_on_create(custom, namespace):
    ci = _ci_create(custom, namespace, cores=16, memoryGiB=64)
    name = ci["metadata"]["name"]
    assert ci["spec"]["cores"] == 16
    added = _ci_patch(custom, namespace, name, {"spec": {"sshKey": "ssh-ed25519 CCCC"}})
    assert added["spec"]["sshKey"] == "ssh-ed25519 CCCC", (
        "no old value: the transition rule is skipped"
    )
    error = api_error(_ci_patch, custom, namespace, name, {"spec": {"sshKey": "ssh-ed25519 DDDD"}})
    assert "sshKey is immutable" in body_of(error)["message"]
    status_write = custom.patch_namespaced_custom_object_status(
        CI_GROUP, CI_VERSION, namespace, CI_PLURAL, name, {"status": {"phase": "Running"}}
    )
    assert status_write["status"]["phase"] == "Running", "status writes pass the spec rules"


def test_cel_list_transition_rule(custom, namespace):
    attachments = [{"subnetRef": "a", "primary": True}, {"subnetRef": "b"}]
    name = unique("net")
    _create(
        custom,
        namespace,
        _networked(name, guestOSFamily="linux", networkAttachments=attachments),
        NETWORKEDS,
    )
    same = _patch(
        custom,
        namespace,
        name,
        {"spec": {"networkAttachments": list(reversed(attachments))}},
        NETWORKEDS,
    )
    assert len(same["spec"]["networkAttachments"]) == 2
    for changed in (
        [{"subnetRef": "a", "primary": True}, {"subnetRef": "c"}],
        [*attachments, {"subnetRef": "d"}],
        attachments[:1],
    ):
        error = api_error(
            _patch, custom, namespace, name, {"spec": {"networkAttachments": changed}}, NETWORKEDS
        )
        assert error.status == 422
        assert (
            "cannot change or add/remove network attachments after initial assignment"
            in body_of(error)["message"]
        )
    os_change = api_error(
        _patch, custom, namespace, name, {"spec": {"guestOSFamily": "windows"}}, NETWORKEDS
    )
    assert _causes(os_change) == {
        (
            "spec.guestOSFamily",
            "FieldValueInvalid",
        ): 'Invalid value: "windows": guestOSFamily is immutable'
    }
    no_primary = [{"subnetRef": "x"}, {"subnetRef": "y"}]
    create_error = api_error(
        _create,
        custom,
        namespace,
        _networked(unique("net"), networkAttachments=no_primary),
        NETWORKEDS,
    )
    assert "exactly one must have primary set to true" in body_of(create_error)["message"], (
        "rules without oldSelf run on create"
    )
    later = unique("net")
    _create(custom, namespace, _networked(later, guestOSFamily="linux"), NETWORKEDS)
    assigned = _patch(
        custom, namespace, later, {"spec": {"networkAttachments": attachments}}, NETWORKEDS
    )
    assert len(assigned["spec"]["networkAttachments"]) == 2, "first assignment is allowed"


def test_patch_prunes_defaults_and_validates_what_it_touches(custom, namespace):
    ci = _ci_create(custom, namespace)
    name = ci["metadata"]["name"]
    unknown_only = _ci_patch(custom, namespace, name, {"spec": {"image": {"extra": "x"}}})
    assert unknown_only["spec"]["image"] == ci["spec"]["image"], "pruned before CEL compares"
    assert unknown_only["metadata"]["resourceVersion"] == ci["metadata"]["resourceVersion"]
    nested = api_error(_ci_patch, custom, namespace, name, {"spec": {"bootDisk": {"sizeGiB": 0}}})
    assert set(_causes(nested)) == {
        ("spec.bootDisk.sizeGiB", "FieldValueInvalid"),
        ("spec.bootDisk", "FieldValueInvalid"),
    }, "the schema's minimum and the immutability rule both judge the change"
    widget_name = _create(custom, namespace, widget(unique("tw")))["metadata"]["name"]
    typed = api_error(
        _patch, custom, namespace, widget_name, {"spec": {"options": {"retries": "x"}}}
    )
    assert ("spec.options.retries", "FieldValueTypeInvalid") in _causes(typed)
    pruned = _patch(
        custom, namespace, widget_name, {"spec": {"options": {"junk": 1, "retries": 5}}}
    )
    assert pruned["spec"]["options"] == {"retries": 5}
    restored = _patch(custom, namespace, widget_name, {"spec": {"options": {"retries": None}}})
    assert restored["spec"]["options"] == {"retries": 3}, "a deleted defaulted field comes back"
    boolean = api_error(_patch, custom, namespace, widget_name, {"spec": {"size": True}})
    assert ("spec.size", "FieldValueTypeInvalid") in _causes(boolean)


SHAPES = json.loads((DATA / "schema-shapes.json").read_text())


@pytest.fixture(scope="module")
def shapes(api_client) -> str:
    body = widget_crd("shapes", "Shape")
    body["spec"]["names"]["shortNames"] = ["shp"]
    body["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"] = SHAPES[
        "specSchema"
    ]
    ensure_crd(api_client, body)
    return "shapes"


def test_validation_message_shapes(custom, namespace, shapes):
    """Every cause kube-apiserver gives for the measured cases of data/schema-shapes.json:
    required, enum, pattern, lengths, item and property counts, bounds, multipleOf, formats,
    types, map entries, list-type duplicates, CEL rules (values, messages, messageExpression,
    reason, fieldPath, evaluation errors) and when schema errors stop the rules."""
    wrong = []
    for case in SHAPES["cases"]:
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Shape",
            "metadata": {"name": unique("shape")},
            "spec": case["spec"],
        }
        try:
            _create(custom, namespace, body, shapes)
            status, causes = 201, []
        except client.ApiException as error:
            status = error.status
            found = body_of(error)["details"]["causes"]
            causes = [[c["reason"], c["field"], c["message"]] for c in found]
        expected = sorted(case["causes"])
        if (status, sorted(causes)) != (case["status"], expected):
            wrong.append(f"{case['case']}: {status} {causes}, not {case['status']} {expected}")
    assert not wrong, "\n".join(wrong)
