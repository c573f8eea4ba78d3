"""Static checks of our CRD files: they parse, are structural, carry the profile's names and the
validations of contract.md sections 2-4."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import celpy
import pytest
import yaml

from harness.contract.profiles import (
    KUBEVIRT_GROUP,
    OSAC,
    VM_KIND,
    VM_PLURAL,
    VMI_KIND,
    VMI_PLURAL,
    Profile,
)
from harness.contract.profiles import PROFILES as ALL_PROFILES
from harness.reference.crds import CRD_DIR, crd_paths

ALL_FILES = sorted(CRD_DIR.glob("*.yaml"))
PROFILES = [pytest.param(profile, id=profile.name) for profile in ALL_PROFILES.values()]
WITHOUT_VM_FIELDS = [
    pytest.param(profile, id=profile.name)
    for profile in ALL_PROFILES.values()
    if not profile.explicit_spec_fields
]

# Keywords a structural schema may use (apiextensions.k8s.io/v1 JSONSchemaProps, minus the
# forbidden $ref, definitions, dependencies, additionalItems, patternProperties).
ALLOWED_KEYS = {
    "description",
    "type",
    "format",
    "title",
    "default",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "multipleOf",
    "enum",
    "maxProperties",
    "minProperties",
    "required",
    "items",
    "allOf",
    "oneOf",
    "anyOf",
    "not",
    "properties",
    "additionalProperties",
    "nullable",
    "example",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-embedded-resource",
    "x-kubernetes-int-or-string",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-list-type",
    "x-kubernetes-map-type",
    "x-kubernetes-validations",
}
TYPES = {"object", "array", "string", "integer", "number", "boolean"}


def load(path: Path) -> dict[str, Any]:
    documents = list(yaml.safe_load_all(path.read_text()))
    assert len(documents) == 1, f"{path.name}: expected exactly one YAML document"
    return documents[0]


def schema_of(crd: dict[str, Any]) -> dict[str, Any]:
    (version,) = crd["spec"]["versions"]
    return version["schema"]["openAPIV3Schema"]


def structural_errors(node: dict[str, Any], path: str = "") -> list[str]:
    """Violations of the structural-schema rules that matter for our files."""
    errors: list[str] = []
    unknown = set(node) - ALLOWED_KEYS
    if unknown:
        errors.append(f"{path or '<root>'}: keys not allowed: {sorted(unknown)}")
    kind = node.get("type")
    if kind not in TYPES and not node.get("x-kubernetes-int-or-string"):
        errors.append(f"{path or '<root>'}: needs a type, has {kind!r}")
    if "properties" in node and kind != "object":
        errors.append(f"{path}: properties on a non-object")
    if "properties" in node and "additionalProperties" in node:
        errors.append(f"{path}: properties and additionalProperties together")
    if kind == "array" and not isinstance(node.get("items"), dict):
        errors.append(f"{path}: array without a single items schema")
    for name in node.get("required", []):
        if name not in node.get("properties", {}):
            errors.append(f"{path}: required {name!r} is not a property")
    if "pattern" in node:
        try:
            re.compile(node["pattern"])
        except re.error as error:
            errors.append(f"{path}: bad pattern: {error}")
    for value in node.get("enum", []):
        expected = {"string": str, "integer": int, "boolean": bool}.get(kind)
        if expected and not isinstance(value, expected):
            errors.append(f"{path}: enum value {value!r} is not a {kind}")
    if "default" in node and kind == "string" and not isinstance(node["default"], str):
        errors.append(f"{path}: default is not a string")
    if node.get("x-kubernetes-map-type") and kind != "object":
        errors.append(f"{path}: map type on a non-object")
    for rule in node.get("x-kubernetes-validations", []):
        if set(rule) - {"rule", "message", "messageExpression", "reason", "fieldPath"}:
            errors.append(f"{path}: unexpected keys in validation rule {rule}")
    for name, child in node.get("properties", {}).items():
        errors.extend(structural_errors(child, f"{path}.{name}" if path else name))
    if isinstance(node.get("items"), dict):
        errors.extend(structural_errors(node["items"], f"{path}[]"))
    return errors


def validations(node: dict[str, Any], path: str = "") -> list[tuple[str, str, str]]:
    found = [
        (path, rule["rule"], rule["message"]) for rule in node.get("x-kubernetes-validations", [])
    ]
    for name, child in node.get("properties", {}).items():
        found.extend(validations(child, f"{path}.{name}" if path else name))
    if isinstance(node.get("items"), dict):
        found.extend(validations(node["items"], f"{path}[]"))
    return found


def at(schema: dict[str, Any], dotted: str) -> dict[str, Any]:
    node = schema
    for part in dotted.split("."):
        node = node["items"] if part == "[]" else node["properties"][part]
    return node


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda path: path.name)
def test_file_is_a_structural_crd(path):
    crd = load(path)
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["kind"] == "CustomResourceDefinition"
    names = crd["spec"]["names"]
    assert crd["metadata"]["name"] == f"{names['plural']}.{crd['spec']['group']}"
    stem = f"{crd['spec']['group']}_{names['plural']}"
    own = [f"{stem}.{name}.yaml" for name in ALL_PROFILES]  # a profile's own schema of a group
    assert path.name in [f"{stem}.yaml", *own]
    assert crd["spec"]["scope"] == "Namespaced"
    versions = crd["spec"]["versions"]
    assert len(versions) == 1 and versions[0]["served"] and versions[0]["storage"]
    schema = schema_of(crd)
    assert structural_errors(schema) == []
    # The root may only say that metadata is an object.
    assert schema["properties"]["metadata"] == {"type": "object"}


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda path: path.name)
def test_cel_rules_compile(path):
    environment = celpy.Environment()
    for _path, rule, _message in validations(schema_of(load(path))):
        environment.compile(rule)


def test_structural_check_catches_mistakes():
    bad = {
        "type": "object",
        "properties": {
            "a": {"properties": {"b": {"type": "string"}}},
            "c": {"type": "array"},
            "d": {"type": "string", "$ref": "#/x"},
        },
        "required": ["missing"],
    }
    errors = structural_errors(bad)
    assert any(error.startswith("a: needs a type") for error in errors)
    assert any(error.startswith("c: array without") for error in errors)
    assert any("$ref" in error for error in errors)
    assert any("'missing'" in error for error in errors)


@pytest.mark.parametrize("profile", PROFILES)
def test_crd_paths_of_a_profile(profile: Profile):
    paths = crd_paths(profile)
    crds = [load(path) for path in paths]
    assert [crd["spec"]["group"] for crd in crds] == [
        profile.group,
        profile.group,
        KUBEVIRT_GROUP,
        KUBEVIRT_GROUP,
    ]
    assert [crd["spec"]["names"]["kind"] for crd in crds] == [
        profile.kind,
        "Tenant",
        VM_KIND,
        VMI_KIND,
    ]
    assert all(path.is_absolute() and path.is_file() for path in paths)


@pytest.mark.parametrize("profile", PROFILES)
def test_compute_instance_identity(profile: Profile):
    crd = load(crd_paths(profile)[0])
    assert crd["metadata"]["name"] == profile.crd_name
    assert crd["spec"]["group"] == profile.group
    assert crd["spec"]["names"] == {
        "kind": profile.kind,
        "listKind": profile.list_kind,
        "plural": profile.plural,
        "singular": profile.singular,
        "shortNames": [profile.short_name],
    }
    (version,) = crd["spec"]["versions"]
    assert version["name"] == profile.version
    assert version["subresources"] == {"status": {}}
    schema = schema_of(crd)
    assert schema["required"] == ["spec"]
    assert at(schema, "status.phase")["enum"] == list(profile.phases.all)
    columns = [
        (column["name"], column["jsonPath"]) for column in version["additionalPrinterColumns"]
    ]
    if profile.explicit_spec_fields:
        assert columns == [
            ("Template", ".spec.templateID"),
            ("Cores", ".spec.cores"),
            ("Memory", ".spec.memoryGiB"),
            ("RunStrategy", ".spec.runStrategy"),
            ("Phase", ".status.phase"),
            ("IP", ".status.ipAddress"),
        ]
    else:
        assert columns == [("Template", ".spec.templateID"), ("Phase", ".status.phase")]


def test_profile_b_spec():
    schema = schema_of(load(crd_paths(OSAC)[0]))
    spec = at(schema, "spec")
    assert sorted(spec["required"]) == sorted(
        ["bootDisk", "cores", "image", "memoryGiB", "runStrategy", "templateID"]
    )
    assert sorted(spec["properties"]) == sorted(
        [
            "templateID",
            "templateParameters",
            "image",
            "cores",
            "memoryGiB",
            "bootDisk",
            "additionalDisks",
            "runStrategy",
            "userDataSecretRef",
            "sshKey",
            "subnetRef",
            "restartRequestedAt",
        ]
    )
    assert at(schema, "spec.templateID")["pattern"] == "^[a-zA-Z_][a-zA-Z0-9._]*$"
    assert at(schema, "spec.image.sourceType")["enum"] == ["registry"]
    assert at(schema, "spec.image.sourceRef")["minLength"] == 1
    assert sorted(at(schema, "spec.image")["required"]) == ["sourceRef", "sourceType"]
    cores = at(schema, "spec.cores")
    assert (cores["type"], cores["format"], cores["minimum"], cores["maximum"]) == (
        "integer",
        "int32",
        1,
        128,
    )
    memory = at(schema, "spec.memoryGiB")
    assert (memory["format"], memory["minimum"]) == ("int32", 1)
    assert "maximum" not in memory
    for disk in ("spec.bootDisk", "spec.additionalDisks.[]"):
        assert at(schema, disk)["required"] == ["sizeGiB"]
        size = at(schema, f"{disk}.sizeGiB")
        assert (size["type"], size["format"], size["minimum"]) == ("integer", "int32", 1)
    assert at(schema, "spec.runStrategy")["enum"] == ["Always", "Halted"]
    secret = at(schema, "spec.userDataSecretRef")
    assert secret["x-kubernetes-map-type"] == "atomic"
    assert at(schema, "spec.userDataSecretRef.name")["default"] == ""
    restart = at(schema, "spec.restartRequestedAt")
    assert (restart["type"], restart["format"]) == ("string", "date-time")
    assert set(restart) <= {"description", "type", "format"}, (
        "restartRequestedAt has no other check"
    )


@pytest.mark.parametrize("profile", WITHOUT_VM_FIELDS)
def test_profile_a_spec(profile: Profile):
    schema = schema_of(load(crd_paths(profile)[0]))
    spec = at(schema, "spec")
    assert spec["required"] == ["templateID"]
    assert sorted(spec["properties"]) == ["restartRequestedAt", "templateID", "templateParameters"]
    assert at(schema, "spec.templateID")["pattern"] == "^[a-zA-Z_][a-zA-Z0-9._]*$"
    assert at(schema, "spec.restartRequestedAt")["format"] == "date-time"
    assert validations(schema) == []


IMMUTABLE = {
    "spec.image": "image is immutable",
    "spec.cores": "cores is immutable",
    "spec.memoryGiB": "memoryGiB is immutable",
    "spec.bootDisk": "bootDisk is immutable",
    "spec.additionalDisks": "additionalDisks is immutable",
    "spec.userDataSecretRef": "userDataSecretRef is immutable",
    "spec.sshKey": "sshKey is immutable",
}


def test_profile_b_has_exactly_the_seven_immutability_rules():
    schema = schema_of(load(crd_paths(OSAC)[0]))
    found = validations(schema)
    assert len(found) == 7
    assert {path: message for path, _rule, message in found} == IMMUTABLE
    assert {rule for _path, rule, _message in found} == {"self == oldSelf"}


@pytest.mark.parametrize("profile", PROFILES)
def test_status_fields(profile: Profile):
    schema = schema_of(load(crd_paths(profile)[0]))
    status = at(schema, "status")["properties"]
    expected = {
        "phase",
        "conditions",
        "virtualMachineReference",
        "tenantReference",
        "desiredConfigVersion",
        "reconciledConfigVersion",
        "lastRestartedAt",
    }
    if profile.explicit_spec_fields:
        expected |= {"ipAddress"}
    if profile.records_jobs:
        expected |= {"jobs"}
    assert set(status) == expected
    assert status["lastRestartedAt"]["format"] == "date-time"
    condition = at(schema, "status.conditions.[]")
    assert sorted(condition["required"]) == [
        "lastTransitionTime",
        "message",
        "reason",
        "status",
        "type",
    ]
    assert condition["properties"]["status"]["enum"] == ["True", "False", "Unknown"]
    assert condition["properties"]["lastTransitionTime"]["format"] == "date-time"
    assert condition["properties"]["reason"]["minLength"] == 1
    assert condition["properties"]["observedGeneration"]["format"] == "int64"
    assert sorted(at(schema, "status.virtualMachineReference")["required"]) == [
        "kubeVirtVirtualMachineName",
        "namespace",
    ]
    assert sorted(at(schema, "status.tenantReference")["required"]) == ["name", "namespace"]
    if profile.records_jobs:
        job = at(schema, "status.jobs.[]")
        assert sorted(job["required"]) == ["jobID", "state", "timestamp", "type"]
        assert job["properties"]["type"]["enum"] == ["provision", "deprovision"]
        assert job["properties"]["state"]["enum"] == [
            "Pending",
            "Waiting",
            "Running",
            "Succeeded",
            "Failed",
            "Canceled",
            "Unknown",
        ]
        assert job["properties"]["timestamp"]["format"] == "date-time"
        assert job["properties"]["blockDeletionOnFailure"]["type"] == "boolean"


@pytest.mark.parametrize("profile", PROFILES)
def test_tenant_crd(profile: Profile):
    crd = load(crd_paths(profile)[1])
    assert crd["metadata"]["name"] == f"{profile.tenant_plural}.{profile.group}"
    assert crd["spec"]["names"]["plural"] == profile.tenant_plural
    (version,) = crd["spec"]["versions"]
    assert version["name"] == profile.version
    assert version["subresources"] == {"status": {}}
    status = at(schema_of(crd), "status")["properties"]
    assert set(status) == {"phase", "namespace", "storageClass"}


@pytest.mark.parametrize(
    ("plural", "kind", "short_names", "status_subresource"),
    [
        (VM_PLURAL, VM_KIND, ["vm", "vms"], True),
        (VMI_PLURAL, VMI_KIND, ["vmi", "vmis"], False),
    ],
)
def test_kubevirt_crds(plural, kind, short_names, status_subresource):
    crd = load(CRD_DIR / f"{KUBEVIRT_GROUP}_{plural}.yaml")
    assert crd["spec"]["names"]["kind"] == kind
    assert crd["spec"]["names"]["shortNames"] == short_names
    (version,) = crd["spec"]["versions"]
    assert version["name"] == "v1"
    assert ("status" in version.get("subresources", {})) is status_subresource
    schema = schema_of(crd)
    for part in ("spec", "status"):
        assert schema["properties"][part]["x-kubernetes-preserve-unknown-fields"] is True
