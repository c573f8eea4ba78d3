"""Pure mapping functions of the reference fulfillment API: API spec <-> CR spec, update masks,
CR -> API object."""

from __future__ import annotations

import json

import grpc
import pytest
from google.protobuf import any_pb2, timestamp_pb2, wrappers_pb2

from harness.contract.profiles import CLOUDKIT, OSAC
from harness.contract.wire import load_wire
from harness.reference.fulfillment import masks
from harness.reference.fulfillment import spec as mapping
from harness.reference.fulfillment.record import RecordMapper
from harness.reference.fulfillment.rpc_errors import RpcFailure

B = load_wire(OSAC)
A = load_wire(CLOUDKIT)
ID = "0b7b5d8e-3f7e-4c49-9d1e-8a7a1f7b2c11"
T_2026 = 1_780_000_000  # 2026-05-28T20:26:40Z
T_2026_TEXT = "2026-05-28T20:26:40Z"


def packed(message) -> any_pb2.Any:
    value = any_pb2.Any()
    value.Pack(message)
    return value


def b_spec(**fields):
    return B.types.ComputeInstanceSpec(template="osac.templates.ocp_virt_vm", **fields)


# --- API -> CR ------------------------------------------------------------------------------------


def test_restart_timestamp_truncates_the_fraction():
    stamp = timestamp_pb2.Timestamp(seconds=T_2026, nanos=999_999_999)
    assert mapping.restart_timestamp(stamp) == T_2026_TEXT
    assert mapping.restart_timestamp(timestamp_pb2.Timestamp(seconds=0)) == "1970-01-01T00:00:00Z"


def test_template_parameters_become_sorted_compact_json():
    spec = b_spec()
    spec.template_parameters["b_ports"].CopyFrom(
        packed(wrappers_pb2.StringValue(value="22/tcp,<80>/tcp"))
    )
    spec.template_parameters["a_count"].CopyFrom(packed(wrappers_pb2.Int32Value(value=3)))
    spec.template_parameters["c_flag"].CopyFrom(packed(wrappers_pb2.BoolValue(value=True)))
    text = mapping.template_parameters_json(spec.template_parameters)
    assert text == '{"a_count":3,"b_ports":"22/tcp,\\u003c80\\u003e/tcp","c_flag":true}'
    assert json.loads(text)["b_ports"] == "22/tcp,<80>/tcp"


def test_template_parameter_of_unknown_type_is_invalid_argument():
    spec = b_spec()
    spec.template_parameters["x"].type_url = "type.googleapis.com/example.Unknown"
    with pytest.raises(RpcFailure) as raised:
        mapping.cr_spec(spec, OSAC, ID)
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "'x'" in raised.value.message


def test_b_create_with_only_a_template_gets_the_template_defaults():
    assert mapping.cr_spec(b_spec(), OSAC, ID) == {
        "templateID": "osac.templates.ocp_virt_vm",
        "templateParameters": "{}",
        "image": {"sourceType": "registry", "sourceRef": "quay.io/containerdisks/fedora:latest"},
        "cores": 2,
        "memoryGiB": 2,
        "bootDisk": {"sizeGiB": 10},
        "runStrategy": "Always",
    }


def test_b_explicit_fields_are_copied():
    types = B.types
    spec = b_spec(
        image=types.ComputeInstanceImage(source_type="registry", source_ref="quay.io/x:1"),
        cores=4,
        memory_gib=8,
        ssh_key="ssh-ed25519 AAAA",
        boot_disk=types.ComputeInstanceDisk(size_gib=20, storage_class="fast"),
        additional_disks=[types.ComputeInstanceDisk(size_gib=5)],
        run_strategy="Halted",
        user_data_secret_ref="#cloud-config\n",
        restart_requested_at=timestamp_pb2.Timestamp(seconds=T_2026, nanos=5),
    )
    assert mapping.cr_spec(spec, OSAC, ID) == {
        "templateID": "osac.templates.ocp_virt_vm",
        "templateParameters": "{}",
        "restartRequestedAt": T_2026_TEXT,
        "image": {"sourceType": "registry", "sourceRef": "quay.io/x:1"},
        "cores": 4,
        "memoryGiB": 8,
        "sshKey": "ssh-ed25519 AAAA",
        "bootDisk": {"sizeGiB": 20, "storageClass": "fast"},
        "additionalDisks": [{"sizeGiB": 5}],
        "runStrategy": "Halted",
        "userDataSecretRef": {"name": f"{ID}-user-data"},
    }


def test_a_spec_has_three_fields_and_no_defaults():
    spec = A.types.ComputeInstanceSpec(
        template="osac.templates.ocp_virt_vm",
        restart_requested_at=timestamp_pb2.Timestamp(seconds=T_2026),
    )
    assert mapping.cr_spec(spec, CLOUDKIT, ID) == {
        "templateID": "osac.templates.ocp_virt_vm",
        "templateParameters": "{}",
        "restartRequestedAt": T_2026_TEXT,
    }


def test_every_spec_field_of_both_eras_has_a_cr_key():
    for wire in (A, B):
        for types in (wire.types, wire.private_types):
            assert set(mapping.spec_fields(types.ComputeInstanceSpec())) <= set(mapping.CR_KEYS)


def test_replace_patch_wipes_unset_fields_but_keeps_unmapped_ones():
    current = {
        "templateID": "osac.templates.ocp_virt_vm",
        "restartRequestedAt": "2026-01-01T00:00:00Z",
        "cores": 2,
        "sshKey": "k",
        "subnetRef": "subnet-1",
    }
    patch = mapping.replace_patch(b_spec(cores=2), OSAC, ID, current)
    assert patch["restartRequestedAt"] is None
    assert patch["sshKey"] is None
    assert patch["cores"] == 2
    assert "subnetRef" not in patch


# --- CR -> API spec -------------------------------------------------------------------------------


def test_cr_spec_maps_back_to_the_api_spec():
    cr = {
        "templateID": "osac.templates.ocp_virt_vm",
        "templateParameters": '{"ports":"22/tcp","n":3,"on":true,"ratio":0.5}',
        "restartRequestedAt": T_2026_TEXT,
        "image": {"sourceType": "registry", "sourceRef": "quay.io/x:1"},
        "cores": 4,
        "memoryGiB": 8,
        "bootDisk": {"sizeGiB": 20},
        "additionalDisks": [{"sizeGiB": 5, "storageClass": "slow"}],
        "runStrategy": "Always",
        "sshKey": "k",
        "userDataSecretRef": {"name": f"{ID}-user-data"},
    }
    spec = mapping.api_spec(cr, B.types.ComputeInstanceSpec)
    assert spec.template == "osac.templates.ocp_virt_vm"
    assert spec.restart_requested_at.seconds == T_2026
    assert (spec.image.source_type, spec.image.source_ref) == ("registry", "quay.io/x:1")
    assert (spec.cores, spec.memory_gib, spec.boot_disk.size_gib) == (4, 8, 20)
    assert spec.additional_disks[0].storage_class == "slow"
    assert (spec.run_strategy, spec.ssh_key) == ("Always", "k")
    assert not spec.HasField("user_data_secret_ref")
    assert mapping.template_parameters_json(spec.template_parameters) == (
        '{"n":3,"on":true,"ports":"22/tcp","ratio":0.5}'
    )
    a_spec = mapping.api_spec(cr, A.types.ComputeInstanceSpec)
    assert a_spec.template == "osac.templates.ocp_virt_vm"
    assert a_spec.restart_requested_at.seconds == T_2026


# --- update masks ---------------------------------------------------------------------------------


def resolve(*paths):
    return masks.resolve(paths, B.types.ComputeInstance.DESCRIPTOR)


def test_mask_paths_resolve_to_spec_fields():
    assert resolve("spec.restart_requested_at") == [masks.SpecPath("restart_requested_at")]
    assert resolve("spec.image.source_ref") == [masks.SpecPath("image", "source_ref")]
    assert resolve("status.state", "metadata.labels", "id") == []
    assert [path.field for path in resolve("spec")] == mapping.spec_fields(b_spec())


@pytest.mark.parametrize(
    "path",
    [
        "spec.restartRequestedAt",
        "spec.nope",
        "nope",
        "spec.restart_requested_at.seconds",
        "spec.additional_disks.size_gib",
        "",
    ],
)
def test_unknown_mask_paths_are_invalid_argument(path):
    with pytest.raises(RpcFailure) as raised:
        resolve(path)
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert repr(path)[1:-1] in raised.value.message


def test_peer_restart_request_patches_only_the_restart_field():
    spec = b_spec(restart_requested_at=timestamp_pb2.Timestamp(seconds=T_2026, nanos=500_000_000))
    patch = masks.spec_patch(spec, resolve("spec.restart_requested_at"), ID)
    assert patch == {"restartRequestedAt": T_2026_TEXT}


def test_masked_unset_field_is_removed_and_sub_paths_merge():
    patch = masks.spec_patch(b_spec(), resolve("spec.ssh_key", "spec.image.source_ref"), ID)
    assert patch == {"sshKey": None, "image": {"sourceRef": ""}}
    disk = B.types.ComputeInstanceDisk(size_gib=30)
    patch = masks.spec_patch(b_spec(boot_disk=disk), resolve("spec.boot_disk.storage_class"), ID)
    assert patch == {"bootDisk": {"storageClass": None}}


def test_empty_mask_selects_the_fields_present():
    spec = b_spec(cores=3, restart_requested_at=timestamp_pb2.Timestamp(seconds=T_2026))
    selected = masks.present_paths(spec)
    assert [path.field for path in selected] == ["template", "restart_requested_at", "cores"]
    assert masks.spec_patch(spec, selected, ID) == {
        "templateID": "osac.templates.ocp_virt_vm",
        "restartRequestedAt": T_2026_TEXT,
        "cores": 3,
    }


# --- CR -> API object -----------------------------------------------------------------------------


def cr(profile, status=None, annotations=None):
    return {
        "apiVersion": profile.api_version,
        "kind": profile.kind,
        "metadata": {
            "name": "vm-abcde",
            "namespace": profile.hub_namespace,
            "creationTimestamp": "2026-03-01T10:00:00Z",
            "labels": {profile.uuid_label: ID},
            "annotations": {profile.tenant_annotation: "tenant-harness", **(annotations or {})},
        },
        "spec": {"templateID": "osac.templates.ocp_virt_vm", "templateParameters": "{}"},
        "status": status or {},
    }


def condition(kind, status, reason="AsExpected", message="", when="2026-03-01T10:00:05Z"):
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": when,
    }


def status_number(types, name):
    field = types.ComputeInstanceCondition.DESCRIPTOR.fields_by_name["status"]
    return field.enum_type.values_by_name[f"CONDITION_STATUS_{name}"].number


def by_type(types, message):
    names = types.ComputeInstanceConditionType
    return {names.Name(item.type): item for item in message.status.conditions}


def test_b_object_mapping():
    status = {
        "phase": "Running",
        "lastRestartedAt": T_2026_TEXT,
        "ipAddress": "10.0.0.5",
        "conditions": [
            condition("RestartInProgress", "True", "RestartInProgress", "Restart initiated at x"),
            condition("Available", "Unknown"),
        ],
    }
    message = RecordMapper(OSAC, B.types).to_api(cr(OSAC, status))
    assert message.id == ID
    assert message.metadata.name == "vm-abcde"
    assert list(message.metadata.tenants) == ["tenant-harness"]
    assert message.metadata.creation_timestamp.seconds == 1_772_359_200
    assert message.metadata.labels[OSAC.uuid_label] == ID
    assert B.types.ComputeInstanceState.Name(message.status.state) == (
        "COMPUTE_INSTANCE_STATE_RUNNING"
    )
    assert message.status.last_restarted_at.seconds == T_2026
    assert message.status.ip_address == "10.0.0.5"
    conditions = by_type(B.types, message)
    assert set(conditions) == set(OSAC.condition_type_by_name.values())
    restart = conditions["COMPUTE_INSTANCE_CONDITION_TYPE_RESTART_IN_PROGRESS"]
    assert restart.status == status_number(B.types, "TRUE")
    assert (restart.reason, restart.message) == ("RestartInProgress", "Restart initiated at x")
    assert restart.last_transition_time.seconds == 1_772_359_205
    available = conditions["COMPUTE_INSTANCE_CONDITION_TYPE_AVAILABLE"]
    assert available.status == status_number(B.types, "UNSPECIFIED")
    failed = conditions["COMPUTE_INSTANCE_CONDITION_TYPE_RESTART_FAILED"]
    assert failed.status == status_number(B.types, "FALSE")
    assert not failed.HasField("last_transition_time")
    assert message.spec.template == "osac.templates.ocp_virt_vm"


def test_no_phase_reads_as_the_starting_state_and_floating_ip_wins():
    annotations = {OSAC.floating_ip_annotation: "192.0.2.7"}
    message = RecordMapper(OSAC, B.types).to_api(cr(OSAC, {"ipAddress": "10.0.0.5"}, annotations))
    assert B.types.ComputeInstanceState.Name(message.status.state) == (
        "COMPUTE_INSTANCE_STATE_STARTING"
    )
    assert message.status.ip_address == "192.0.2.7"
    assert not message.status.HasField("last_restarted_at")


def test_private_object_carries_the_hub():
    message = RecordMapper(OSAC, B.private_types, hub="osac-computeinstance").to_api(cr(OSAC))
    assert message.status.hub == "osac-computeinstance"
    assert RecordMapper(OSAC, B.private_types).private
    assert not RecordMapper(OSAC, B.types).private


def test_a_object_mapping_and_the_progressing_merge():
    status = {
        "phase": "Ready",
        "conditions": [
            condition("Progressing", "False"),
            condition("Accepted", "True", message="accepted"),
            condition("Available", "True"),
        ],
    }
    message = RecordMapper(CLOUDKIT, A.types).to_api(cr(CLOUDKIT, status))
    assert A.types.ComputeInstanceState.Name(message.status.state) == (
        "COMPUTE_INSTANCE_STATE_READY"
    )
    conditions = by_type(A.types, message)
    assert len(conditions) == 6  # every value but UNSPECIFIED
    progressing = conditions["COMPUTE_INSTANCE_CONDITION_TYPE_PROGRESSING"]
    assert (progressing.status, progressing.message) == (status_number(A.types, "TRUE"), "accepted")
    assert conditions["COMPUTE_INSTANCE_CONDITION_TYPE_READY"].status == (
        status_number(A.types, "TRUE")
    )
    assert conditions["COMPUTE_INSTANCE_CONDITION_TYPE_DEGRADED"].status == (
        status_number(A.types, "FALSE")
    )
