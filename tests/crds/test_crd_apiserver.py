"""Our CRDs loaded into the embedded API server: valid objects go in, the schema and the CEL
immutability rules reject what a real cluster rejects (peer suite #6 in contract.md 12.1)."""

from __future__ import annotations

import pytest
from kubernetes.client.exceptions import ApiException

from harness.contract.profiles import (
    KUBEVIRT_GROUP,
    KUBEVIRT_VERSION,
    OSAC,
    VM_KIND,
    VM_PLURAL,
    VMI_KIND,
    VMI_PLURAL,
    Profile,
)
from tests.eras import EVERY_PROFILE
from tests.fulfillment.helpers import (
    TENANT,
    kube_api,
    start_apiserver,
)


@pytest.fixture(scope="module", params=EVERY_PROFILE)
def cluster(request, tmp_path_factory):
    profile: Profile = request.param
    tmp = tmp_path_factory.mktemp(f"crds-{profile.name}")
    process, kubeconfig = start_apiserver(tmp, profile)
    try:
        yield profile, kube_api(kubeconfig)
    finally:
        process.stop()


def instance(profile: Profile, **spec_changes):
    spec = {"templateID": "osac.templates.ocp_virt_vm"}
    if profile.explicit_spec_fields:
        spec.update(
            image={"sourceType": "registry", "sourceRef": "quay.io/containerdisks/fedora:latest"},
            cores=2,
            memoryGiB=4,
            bootDisk={"sizeGiB": 20},
            runStrategy="Always",
        )
    spec.update(spec_changes)
    return {
        "apiVersion": profile.api_version,
        "kind": profile.kind,
        "metadata": {"generateName": "vm-", "annotations": {profile.tenant_annotation: TENANT}},
        "spec": spec,
    }


def create(profile, api, body):
    return api.create_namespaced_custom_object(
        profile.group, profile.version, profile.hub_namespace, profile.plural, body
    )


def rejected(call, *args, **kwargs) -> ApiException:
    with pytest.raises(ApiException) as raised:
        call(*args, **kwargs)
    return raised.value


def test_valid_instance_is_created(cluster):
    profile, api = cluster
    created = create(profile, api, instance(profile, restartRequestedAt="2026-03-01T10:00:00Z"))
    assert created["metadata"]["name"].startswith("vm-")
    assert created["spec"]["restartRequestedAt"] == "2026-03-01T10:00:00Z"
    if profile.explicit_spec_fields:
        assert created["spec"]["cores"] == 2


def test_schema_rejects_bad_values(cluster):
    profile, api = cluster
    bad = [instance(profile, templateID="1-not-an-id"), instance(profile, restartRequestedAt="now")]
    if profile.explicit_spec_fields:
        bad += [
            instance(profile, cores=0),
            instance(profile, cores=129),
            instance(profile, runStrategy="Sometimes"),
            instance(profile, image={"sourceType": "http", "sourceRef": "x"}),
        ]
    for body in bad:
        error = rejected(create, profile, api, body)
        assert error.status == 422, body["spec"]


@pytest.mark.parametrize("cluster", [pytest.param(OSAC, id="osac")], indirect=True)
def test_cores_zero_names_the_field(cluster):
    profile, api = cluster
    error = rejected(create, profile, api, instance(profile, cores=0))
    assert error.status == 422
    assert "spec.cores" in error.body


def test_immutable_fields_and_mutable_ones(cluster):
    profile, api = cluster
    created = create(profile, api, instance(profile, sshKey="k"))
    name = created["metadata"]["name"]
    args = (profile.group, profile.version, profile.hub_namespace, profile.plural, name)
    if profile.explicit_spec_fields:
        for change, message in (
            ({"cores": 8}, "cores is immutable"),
            ({"memoryGiB": 16}, "memoryGiB is immutable"),
            ({"image": {"sourceType": "registry", "sourceRef": "quay.io/y"}}, "image is immutable"),
            ({"bootDisk": {"sizeGiB": 30}}, "bootDisk is immutable"),
            ({"sshKey": "other"}, "sshKey is immutable"),
        ):
            error = rejected(api.patch_namespaced_custom_object, *args, {"spec": change})
            assert error.status == 422
            assert message in error.body
        patched = api.patch_namespaced_custom_object(*args, {"spec": {"runStrategy": "Halted"}})
        assert patched["spec"]["runStrategy"] == "Halted"
    patched = api.patch_namespaced_custom_object(
        *args, {"spec": {"restartRequestedAt": "2026-03-01T10:00:05Z"}}
    )
    assert patched["spec"]["restartRequestedAt"] == "2026-03-01T10:00:05Z"


def test_status_goes_through_the_subresource(cluster):
    profile, api = cluster
    created = create(profile, api, instance(profile))
    name = created["metadata"]["name"]
    args = (profile.group, profile.version, profile.hub_namespace, profile.plural, name)
    api.patch_namespaced_custom_object(*args, {"status": {"phase": profile.phases.running}})
    assert "phase" not in (api.get_namespaced_custom_object(*args).get("status") or {})
    status = api.patch_namespaced_custom_object_status(
        *args,
        {"status": {"phase": profile.phases.running, "lastRestartedAt": "2026-03-01T10:00:05Z"}},
    )
    assert status["status"]["phase"] == profile.phases.running
    error = rejected(
        api.patch_namespaced_custom_object_status, *args, {"status": {"phase": "Sideways"}}
    )
    assert error.status == 422


def test_kubevirt_status_subresources(cluster):
    profile, api = cluster
    namespace = TENANT
    for plural, kind, has_status in ((VM_PLURAL, VM_KIND, True), (VMI_PLURAL, VMI_KIND, False)):
        body = {
            "apiVersion": f"{KUBEVIRT_GROUP}/{KUBEVIRT_VERSION}",
            "kind": kind,
            "metadata": {"name": f"probe-{profile.name}", "labels": {"a": "b"}},
            "spec": {"anything": {"goes": True}},
            "status": {"printableStatus": "Running"},
        }
        created = api.create_namespaced_custom_object(
            KUBEVIRT_GROUP, KUBEVIRT_VERSION, namespace, plural, body
        )
        assert created["spec"] == {"anything": {"goes": True}}
        # With the status subresource on, create drops status; with it off, status is kept.
        assert bool(created.get("status")) is not has_status
