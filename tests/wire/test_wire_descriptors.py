"""The generated descriptors declare exactly the wire format of contract.md sections 1.1 and 11.

Names of eras (packages) come from the profiles; the tables below spell only what the contract
fixes within a package: messages, field names, numbers, labels, types and enum values.
"""

from __future__ import annotations

import pytest
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

from harness.contract.profiles import CLOUDKIT, CLOUDKIT_JOBS, CONDITION_STATUS_NAMES, OSAC, Profile
from harness.contract.profiles import PROFILES as ALL_PROFILES
from harness.contract.wire import WireModules, load_wire

_SCALARS = {
    FieldDescriptor.TYPE_STRING: "string",
    FieldDescriptor.TYPE_INT32: "int32",
    FieldDescriptor.TYPE_INT64: "int64",
    FieldDescriptor.TYPE_BOOL: "bool",
}


def describe(field: FieldDescriptor) -> str:
    """Render a field like its .proto declaration, naming types without their package."""
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        key = describe(field.message_type.fields_by_name["key"])
        value = describe(field.message_type.fields_by_name["value"])
        return f"map<{key}, {value}>"
    if field.message_type is not None:
        kind = field.message_type.name
    elif field.enum_type is not None:
        kind = field.enum_type.name
    else:
        kind = _SCALARS[field.type]
    if field.is_repeated:
        return f"repeated {kind}"
    oneof = field.containing_oneof
    if oneof is not None and oneof.name == f"_{field.name}":
        return f"optional {kind}"
    return kind


def fields(message: Descriptor) -> dict[str, tuple[int, str]]:
    return {field.name: (field.number, describe(field)) for field in message.fields}


def enum_values(enum: EnumDescriptor) -> dict[str, int]:
    return {value.name: value.number for value in enum.values}


SPEC_A = {
    "template": (1, "string"),
    "template_parameters": (2, "map<string, Any>"),
    "restart_requested_at": (3, "optional Timestamp"),
}
SPEC_B = {
    **SPEC_A,
    "image": (4, "optional ComputeInstanceImage"),
    "cores": (5, "optional int32"),
    "memory_gib": (6, "optional int32"),
    "ssh_key": (7, "optional string"),
    "boot_disk": (8, "optional ComputeInstanceDisk"),
    "additional_disks": (9, "repeated ComputeInstanceDisk"),
    "run_strategy": (10, "optional string"),
    "user_data_secret_ref": (11, "optional string"),
}
COMPUTE_INSTANCE = {
    "id": (1, "string"),
    "metadata": (2, "Metadata"),
    "spec": (3, "ComputeInstanceSpec"),
    "status": (4, "ComputeInstanceStatus"),
}
PUBLIC_STATUS = {
    "state": (1, "ComputeInstanceState"),
    "conditions": (2, "repeated ComputeInstanceCondition"),
    "ip_address": (3, "string"),
    "last_restarted_at": (4, "optional Timestamp"),
}
PRIVATE_STATUS = {
    "state": (1, "ComputeInstanceState"),
    "conditions": (2, "repeated ComputeInstanceCondition"),
    "ip_address": (3, "string"),
    "hub": (4, "string"),
    "last_restarted_at": (5, "optional Timestamp"),
}
CONDITION = {
    "type": (1, "ComputeInstanceConditionType"),
    "status": (2, "ConditionStatus"),
    "last_transition_time": (3, "Timestamp"),
    "reason": (4, "optional string"),
    "message": (5, "optional string"),
}
PUBLIC_METADATA = {
    "creation_timestamp": (1, "Timestamp"),
    "deletion_timestamp": (2, "Timestamp"),
    "creators": (3, "repeated string"),
    "name": (4, "string"),
    "tenants": (5, "repeated string"),
    "labels": (7, "map<string, string>"),
    "annotations": (8, "map<string, string>"),
}
PRIVATE_METADATA = {
    "creation_timestamp": (1, "Timestamp"),
    "deletion_timestamp": (2, "Timestamp"),
    "finalizers": (3, "repeated string"),
    "creators": (4, "repeated string"),
    "tenants": (5, "repeated string"),
    "name": (6, "string"),
    "labels": (7, "map<string, string>"),
    "annotations": (8, "map<string, string>"),
}
IMAGE = {"source_type": (1, "string"), "source_ref": (2, "string")}
DISK = {"size_gib": (1, "int32"), "storage_class": (2, "optional string")}


def list_request(public: bool) -> dict[str, tuple[int, str]]:
    request = {
        "offset": (1, "optional int32"),
        "limit": (2, "optional int32"),
        "filter": (3, "optional string"),
    }
    if public:
        request["order"] = (4, "optional string")
    return request


LIST_RESPONSE = {
    "size": (1, "optional int32"),
    "total": (2, "optional int32"),
    "items": (3, "repeated ComputeInstance"),
}
ID_ONLY = {"id": (1, "string")}
OBJECT_ONLY = {"object": (1, "ComputeInstance")}
UPDATE_REQUEST = {"object": (1, "ComputeInstance"), "update_mask": (2, "FieldMask")}

STATES = {
    "osac": {
        "COMPUTE_INSTANCE_STATE_UNSPECIFIED": 0,
        "COMPUTE_INSTANCE_STATE_STARTING": 1,
        "COMPUTE_INSTANCE_STATE_RUNNING": 2,
        "COMPUTE_INSTANCE_STATE_FAILED": 3,
        "COMPUTE_INSTANCE_STATE_DELETING": 4,
        "COMPUTE_INSTANCE_STATE_STOPPING": 5,
        "COMPUTE_INSTANCE_STATE_STOPPED": 6,
        "COMPUTE_INSTANCE_STATE_PAUSED": 7,
    },
    "cloudkit": {
        "COMPUTE_INSTANCE_STATE_UNSPECIFIED": 0,
        "COMPUTE_INSTANCE_STATE_PROGRESSING": 1,
        "COMPUTE_INSTANCE_STATE_READY": 2,
        "COMPUTE_INSTANCE_STATE_FAILED": 3,
        "COMPUTE_INSTANCE_STATE_DELETING": 4,
    },
    "cloudkit-jobs": {
        "COMPUTE_INSTANCE_STATE_UNSPECIFIED": 0,
        "COMPUTE_INSTANCE_STATE_STARTING": 1,
        "COMPUTE_INSTANCE_STATE_RUNNING": 2,
        "COMPUTE_INSTANCE_STATE_FAILED": 3,
        "COMPUTE_INSTANCE_STATE_DELETING": 4,
    },
}
CONDITION_TYPES = {
    "osac": {
        "COMPUTE_INSTANCE_CONDITION_TYPE_UNSPECIFIED": 0,
        "COMPUTE_INSTANCE_CONDITION_TYPE_CONFIGURATION_APPLIED": 1,
        "COMPUTE_INSTANCE_CONDITION_TYPE_AVAILABLE": 2,
        "COMPUTE_INSTANCE_CONDITION_TYPE_RESTART_IN_PROGRESS": 3,
        "COMPUTE_INSTANCE_CONDITION_TYPE_RESTART_FAILED": 4,
        "COMPUTE_INSTANCE_CONDITION_TYPE_PROVISIONED": 5,
        "COMPUTE_INSTANCE_CONDITION_TYPE_RESTART_REQUIRED": 6,
    },
    "cloudkit": {
        "COMPUTE_INSTANCE_CONDITION_TYPE_UNSPECIFIED": 0,
        "COMPUTE_INSTANCE_CONDITION_TYPE_PROGRESSING": 1,
        "COMPUTE_INSTANCE_CONDITION_TYPE_READY": 2,
        "COMPUTE_INSTANCE_CONDITION_TYPE_FAILED": 3,
        "COMPUTE_INSTANCE_CONDITION_TYPE_DEGRADED": 4,
        "COMPUTE_INSTANCE_CONDITION_TYPE_RESTART_IN_PROGRESS": 5,
        "COMPUTE_INSTANCE_CONDITION_TYPE_RESTART_FAILED": 6,
    },
    "cloudkit-jobs": {
        "COMPUTE_INSTANCE_CONDITION_TYPE_UNSPECIFIED": 0,
        "COMPUTE_INSTANCE_CONDITION_TYPE_PROGRESSING": 1,
        "COMPUTE_INSTANCE_CONDITION_TYPE_AVAILABLE": 2,
        "COMPUTE_INSTANCE_CONDITION_TYPE_FAILED": 3,
        "COMPUTE_INSTANCE_CONDITION_TYPE_DEGRADED": 4,
        "COMPUTE_INSTANCE_CONDITION_TYPE_RESTART_IN_PROGRESS": 5,
        "COMPUTE_INSTANCE_CONDITION_TYPE_RESTART_FAILED": 6,
    },
}
CONDITION_STATUS = {
    "CONDITION_STATUS_UNSPECIFIED": 0,
    "CONDITION_STATUS_TRUE": 1,
    "CONDITION_STATUS_FALSE": 2,
}
PUBLIC_METHODS = {
    "List": ("ComputeInstancesListRequest", "ComputeInstancesListResponse"),
    "Get": ("ComputeInstancesGetRequest", "ComputeInstancesGetResponse"),
    "Create": ("ComputeInstancesCreateRequest", "ComputeInstancesCreateResponse"),
    "Update": ("ComputeInstancesUpdateRequest", "ComputeInstancesUpdateResponse"),
    "Delete": ("ComputeInstancesDeleteRequest", "ComputeInstancesDeleteResponse"),
}
PRIVATE_METHODS = {
    **PUBLIC_METHODS,
    "Signal": ("ComputeInstancesSignalRequest", "ComputeInstancesSignalResponse"),
}

PROFILES = [pytest.param(profile, id=profile.name) for profile in ALL_PROFILES.values()]


@pytest.fixture(params=PROFILES)
def profile(request: pytest.FixtureRequest) -> Profile:
    return request.param


@pytest.fixture
def wire(profile: Profile) -> WireModules:
    return load_wire(profile)


def test_packages_come_from_the_profile(profile, wire):
    assert wire.types.DESCRIPTOR.package == profile.grpc.public_package
    assert wire.service.DESCRIPTOR.package == profile.grpc.public_package
    assert wire.private_types.DESCRIPTOR.package == profile.grpc.private_package
    assert wire.private_service.DESCRIPTOR.package == profile.grpc.private_package


@pytest.mark.parametrize("private", [False, True], ids=["public", "private"])
def test_compute_instance_messages(profile, wire, private):
    types = wire.private_types if private else wire.types
    spec = SPEC_B if profile.explicit_spec_fields else SPEC_A
    assert fields(types.ComputeInstance.DESCRIPTOR) == COMPUTE_INSTANCE
    assert fields(types.ComputeInstanceSpec.DESCRIPTOR) == spec
    assert fields(types.ComputeInstanceStatus.DESCRIPTOR) == (
        PRIVATE_STATUS if private else PUBLIC_STATUS
    )
    assert fields(types.ComputeInstanceCondition.DESCRIPTOR) == CONDITION
    metadata = types.ComputeInstance.DESCRIPTOR.fields_by_name["metadata"].message_type
    assert fields(metadata) == (PRIVATE_METADATA if private else PUBLIC_METADATA)
    if profile.explicit_spec_fields:
        assert fields(types.ComputeInstanceImage.DESCRIPTOR) == IMAGE
        assert fields(types.ComputeInstanceDisk.DESCRIPTOR) == DISK
    else:
        assert not hasattr(types, "ComputeInstanceImage")
        assert not hasattr(types, "ComputeInstanceDisk")


def test_well_known_types(wire):
    spec = wire.types.ComputeInstanceSpec.DESCRIPTOR
    parameters = spec.fields_by_name["template_parameters"].message_type
    assert parameters.fields_by_name["value"].message_type.full_name == "google.protobuf.Any"
    restart = spec.fields_by_name["restart_requested_at"].message_type
    assert restart.full_name == "google.protobuf.Timestamp"
    update = wire.service.ComputeInstancesUpdateRequest.DESCRIPTOR
    assert update.fields_by_name["update_mask"].message_type.full_name == (
        "google.protobuf.FieldMask"
    )


@pytest.mark.parametrize("private", [False, True], ids=["public", "private"])
def test_service_messages(wire, private):
    service = wire.private_service if private else wire.service
    assert fields(service.ComputeInstancesListRequest.DESCRIPTOR) == list_request(not private)
    assert fields(service.ComputeInstancesListResponse.DESCRIPTOR) == LIST_RESPONSE
    for name in ("ComputeInstancesGetRequest", "ComputeInstancesDeleteRequest"):
        assert fields(getattr(service, name).DESCRIPTOR) == ID_ONLY
    for name in (
        "ComputeInstancesGetResponse",
        "ComputeInstancesCreateRequest",
        "ComputeInstancesCreateResponse",
        "ComputeInstancesUpdateResponse",
    ):
        assert fields(getattr(service, name).DESCRIPTOR) == OBJECT_ONLY
    assert fields(service.ComputeInstancesUpdateRequest.DESCRIPTOR) == UPDATE_REQUEST
    assert fields(service.ComputeInstancesDeleteResponse.DESCRIPTOR) == {}
    if private:
        assert fields(service.ComputeInstancesSignalRequest.DESCRIPTOR) == ID_ONLY
        assert fields(service.ComputeInstancesSignalResponse.DESCRIPTOR) == {}
    else:
        assert not hasattr(service, "ComputeInstancesSignalRequest")


@pytest.mark.parametrize("private", [False, True], ids=["public", "private"])
def test_services_and_methods(profile, wire, private):
    module = wire.private_service if private else wire.service
    package = profile.grpc.private_package if private else profile.grpc.public_package
    expected_name = profile.grpc.private_service if private else profile.grpc.public_service
    service = module.DESCRIPTOR.services_by_name["ComputeInstances"]
    assert service.full_name == expected_name
    methods = {
        method.name: (method.input_type.full_name, method.output_type.full_name)
        for method in service.methods
    }
    expected = PRIVATE_METHODS if private else PUBLIC_METHODS
    assert methods == {
        name: (f"{package}.{request}", f"{package}.{response}")
        for name, (request, response) in expected.items()
    }
    for method in service.methods:
        assert not method.client_streaming
        assert not method.server_streaming


@pytest.mark.parametrize("private", [False, True], ids=["public", "private"])
def test_enums(profile, wire, private):
    types = wire.private_types if private else wire.types
    state = types.DESCRIPTOR.enum_types_by_name[profile.grpc.state_enum]
    condition_type = types.DESCRIPTOR.enum_types_by_name[profile.grpc.condition_type_enum]
    assert enum_values(state) == STATES[profile.name]
    assert enum_values(condition_type) == CONDITION_TYPES[profile.name]
    condition = types.ComputeInstanceCondition.DESCRIPTOR
    status_enum = condition.fields_by_name["status"].enum_type
    assert status_enum.name == profile.grpc.condition_status_enum
    assert enum_values(status_enum) == CONDITION_STATUS


def test_profile_names_exist_in_the_enums(profile, wire):
    state = wire.types.DESCRIPTOR.enum_types_by_name[profile.grpc.state_enum]
    condition_type = wire.types.DESCRIPTOR.enum_types_by_name[profile.grpc.condition_type_enum]
    assert set(profile.state_by_phase.values()) <= set(state.values_by_name)
    assert set(profile.condition_type_by_name.values()) <= set(condition_type.values_by_name)
    status = wire.types.ComputeInstanceCondition.DESCRIPTOR.fields_by_name["status"].enum_type
    assert set(CONDITION_STATUS_NAMES.values()) == set(status.values_by_name)


def test_where_metadata_and_condition_status_live(profile, wire):
    """B: each package has its own; A: a third package shared by both, private Metadata apart."""

    def package_of(types, field_path: tuple[str, str]) -> str:
        message, field = field_path
        descriptor = getattr(types, message).DESCRIPTOR.fields_by_name[field]
        target = descriptor.message_type or descriptor.enum_type
        return target.file.package

    metadata = ("ComputeInstance", "metadata")
    status = ("ComputeInstanceCondition", "status")
    public, private = profile.grpc.public_package, profile.grpc.private_package
    if profile.explicit_spec_fields:
        assert package_of(wire.types, metadata) == public
        assert package_of(wire.types, status) == public
        assert package_of(wire.private_types, metadata) == private
        assert package_of(wire.private_types, status) == private
    else:
        shared = package_of(wire.types, metadata)
        assert shared not in (public, private)
        assert package_of(wire.types, status) == shared
        assert package_of(wire.private_types, status) == shared
        assert package_of(wire.private_types, metadata) == private


def test_every_profile_loads_in_one_process():
    osac, cloudkit = load_wire(OSAC), load_wire(CLOUDKIT)
    assert osac.types.ComputeInstance.DESCRIPTOR.full_name != (
        cloudkit.types.ComputeInstance.DESCRIPTOR.full_name
    )
    for profile in ALL_PROFILES.values():
        wire = load_wire(profile)
        message = wire.types.ComputeInstance(id="x")
        message.spec.template = "osac.templates.ocp_virt_vm"
        message.spec.restart_requested_at.seconds = 1_700_000_000
        decoded = wire.types.ComputeInstance.FromString(message.SerializeToString())
        assert decoded == message
    # Same number, different names: enums must be compared by name (contract section 1.1).
    osac_state = osac.types.DESCRIPTOR.enum_types_by_name[OSAC.grpc.state_enum]
    cloudkit_state = cloudkit.types.DESCRIPTOR.enum_types_by_name[CLOUDKIT.grpc.state_enum]
    assert osac_state.values_by_number[1].name != cloudkit_state.values_by_number[1].name


def test_one_package_with_two_meanings_lives_in_two_pools():
    """cloudkit and cloudkit-jobs both define `fulfillment.v1.ComputeInstanceState`, number 1
    PROGRESSING in one and STARTING in the other: each in its own descriptor pool."""
    early, late = load_wire(CLOUDKIT), load_wire(CLOUDKIT_JOBS)
    assert early.types.ComputeInstance.DESCRIPTOR.full_name == (
        late.types.ComputeInstance.DESCRIPTOR.full_name
    )
    assert early.pool is not late.pool
    for wire, profile in ((early, CLOUDKIT), (late, CLOUDKIT_JOBS)):
        state = wire.pool.FindEnumTypeByName(f"{profile.grpc.public_package}.ComputeInstanceState")
        assert state is wire.types.DESCRIPTOR.enum_types_by_name["ComputeInstanceState"]
        assert state.values_by_number[1].name == profile.state_by_phase[profile.phases.starting]
        assert wire.pool.FindServiceByName(profile.grpc.public_service).file is (
            wire.service.DESCRIPTOR
        )
