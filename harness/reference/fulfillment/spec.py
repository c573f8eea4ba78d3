"""API `ComputeInstanceSpec` <-> CR `spec`, the way fulfillment-service's controller writes it.

Facts from fulfillment-service 8b63ab17 `buildSpec` (contract §9.2): `template` becomes
`templateID`; `template_parameters` becomes `templateParameters`, a JSON object string (always
written, `{}` when empty); `restart_requested_at` is formatted RFC 3339 with the fraction
truncated; explicit fields are copied when set; `user_data_secret_ref` carries the user data
itself, which goes into a Secret `<id>-user-data` referenced by `userDataSecretRef.name`.

Every function is pure; the descriptor of the spec message decides which fields an era has.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf import (
    any_pb2,
    descriptor_pool,
    json_format,
    message_factory,
    struct_pb2,
    timestamp_pb2,
    wrappers_pb2,
)
from google.protobuf.message import Message

from harness.contract.profiles import Profile
from harness.contract.timestamps import TimestampError, format_rfc3339, parse_rfc3339
from harness.contract.wire.pools import copy_into
from harness.reference.fulfillment.rpc_errors import invalid_argument

# Proto field of ComputeInstanceSpec -> key in the CR spec.
CR_KEYS: dict[str, str] = {
    "template": "templateID",
    "template_parameters": "templateParameters",
    "restart_requested_at": "restartRequestedAt",
    "image": "image",
    "cores": "cores",
    "memory_gib": "memoryGiB",
    "ssh_key": "sshKey",
    "boot_disk": "bootDisk",
    "additional_disks": "additionalDisks",
    "run_strategy": "runStrategy",
    "user_data_secret_ref": "userDataSecretRef",
}
# Fields of the nested ComputeInstanceImage / ComputeInstanceDisk messages.
CR_SUB_KEYS: dict[str, str] = {
    "source_type": "sourceType",
    "source_ref": "sourceRef",
    "size_gib": "sizeGiB",
    "storage_class": "storageClass",
}

USER_DATA_SECRET_SUFFIX = "-user-data"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# The profile B CRD requires image, cores, memoryGiB, bootDisk and runStrategy, but the API makes
# them optional and fulfillment-service (to 2026-07) fills in nothing. When a request omits them
# we use the spec defaults documented by the osac-aap template `ocp_virt_vm` (Linux profile), so a
# Create with only a template yields a valid CR, as the peer suites' creates do.
TEMPLATE_SPEC_DEFAULTS: dict[str, Any] = {
    "image": {"sourceType": "registry", "sourceRef": "quay.io/containerdisks/fedora:latest"},
    "cores": 2,
    "memoryGiB": 2,
    "bootDisk": {"sizeGiB": 10},
    "runStrategy": "Always",
}

_ALWAYS_WRITTEN = ("template_parameters",)
_REPEATED = ("template_parameters", "additional_disks")


def spec_fields(spec: Message) -> list[str]:
    """The spec fields this era's message has, in field-number order."""
    return [field.name for field in spec.DESCRIPTOR.fields]


def user_data_secret_name(instance_id: str) -> str:
    return f"{instance_id}{USER_DATA_SECRET_SUFFIX}"


# --- API -> CR ------------------------------------------------------------------------------------


_MIN_TIMESTAMP, _MAX_TIMESTAMP = 1, 9999


def restart_timestamp(stamp: timestamp_pb2.Timestamp) -> str:
    """RFC 3339, whole seconds, `Z`: Go's `time.RFC3339` drops the nanoseconds (truncation).

    A Timestamp outside what RFC 3339 can express (years 0001-9999) or with nanos outside
    [0, 1e9) is malformed (protobuf's `Timestamp.CheckValid`) and rejected."""
    if not 0 <= stamp.nanos < 1_000_000_000:
        raise invalid_argument(
            f"restart_requested_at is not a valid timestamp: nanos {stamp.nanos} is outside "
            "[0, 999999999]"
        )
    try:
        value = _EPOCH + timedelta(seconds=stamp.seconds)
    except OverflowError:
        value = None
    if value is None or not _MIN_TIMESTAMP <= value.year <= _MAX_TIMESTAMP:
        raise invalid_argument(
            f"restart_requested_at is not a valid timestamp: {stamp.seconds} seconds is outside "
            "0001-01-01T00:00:00Z..9999-12-31T23:59:59Z"
        )
    return format_rfc3339(value)


def _go_json(value: Any) -> str:
    """Compact JSON with sorted keys and Go's HTML escaping, like `encoding/json.Marshal`."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


def _integral(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _integral(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integral(item) for item in value]
    return value


def any_to_json_value(name: str, packed: any_pb2.Any) -> Any:
    """The JSON value of a packed parameter (protojson of the unpacked message)."""
    type_name = packed.TypeName()
    try:
        descriptor = descriptor_pool.Default().FindMessageTypeByName(type_name)
    except KeyError:
        raise invalid_argument(
            f"template parameter '{name}' has unknown type '{type_name or packed.type_url}'"
        ) from None
    message = message_factory.GetMessageClass(descriptor)()
    if not packed.Unpack(message):
        raise invalid_argument(f"template parameter '{name}' cannot be decoded as {type_name}")
    return _integral(json_format.MessageToDict(message))


def template_parameters_json(parameters: Any) -> str:
    return _go_json({name: any_to_json_value(name, parameters[name]) for name in parameters})


def _disk(disk: Message) -> dict[str, Any]:
    result: dict[str, Any] = {"sizeGiB": disk.size_gib}
    if disk.HasField("storage_class"):
        result["storageClass"] = disk.storage_class
    return result


def is_present(spec: Message, field: str) -> bool:
    if field == "template":
        return bool(spec.template)
    if field in _REPEATED:
        return len(getattr(spec, field)) > 0
    return spec.HasField(field)


def cr_value(spec: Message, field: str, instance_id: str) -> Any:
    """The CR value of one API spec field (callers check `is_present` first)."""
    value = getattr(spec, field)
    if field == "template_parameters":
        return template_parameters_json(value)
    if field == "restart_requested_at":
        return restart_timestamp(value)
    if field == "image":
        return {"sourceType": value.source_type, "sourceRef": value.source_ref}
    if field == "boot_disk":
        return _disk(value)
    if field == "additional_disks":
        return [_disk(disk) for disk in value]
    if field == "user_data_secret_ref":
        return {"name": user_data_secret_name(instance_id)}
    return value


def cr_spec(spec: Message, profile: Profile, instance_id: str) -> dict[str, Any]:
    """The whole CR spec for a new CR (and for a full-replace update)."""
    result: dict[str, Any] = {}
    for field in spec_fields(spec):
        if is_present(spec, field) or field in _ALWAYS_WRITTEN:
            result[CR_KEYS[field]] = cr_value(spec, field, instance_id)
    if profile.explicit_spec_fields:
        for key, default in TEMPLATE_SPEC_DEFAULTS.items():
            result.setdefault(key, json.loads(json.dumps(default)))
    return result


def replace_patch(
    spec: Message, profile: Profile, instance_id: str, current: dict[str, Any]
) -> dict[str, Any]:
    """Merge patch that makes the mapped part of the CR spec equal `cr_spec(...)`."""
    wanted = cr_spec(spec, profile, instance_id)
    mapped = {CR_KEYS[field] for field in spec_fields(spec)}
    patch: dict[str, Any] = {key: None for key in current if key in mapped and key not in wanted}
    patch.update(wanted)
    return patch


# --- CR -> API ------------------------------------------------------------------------------------


def json_value_to_any(value: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    if isinstance(value, bool):
        packed.Pack(wrappers_pb2.BoolValue(value=value))
    elif isinstance(value, int) and -(2**31) <= value < 2**31:
        packed.Pack(wrappers_pb2.Int32Value(value=value))
    elif isinstance(value, int):
        packed.Pack(wrappers_pb2.Int64Value(value=value))
    elif isinstance(value, float):
        packed.Pack(wrappers_pb2.DoubleValue(value=value))
    elif isinstance(value, str):
        packed.Pack(wrappers_pb2.StringValue(value=value))
    else:
        packed.Pack(json_format.ParseDict(value, struct_pb2.Value()))
    return packed


def timestamp(text: Any) -> timestamp_pb2.Timestamp | None:
    """Whole-second protobuf timestamp of an RFC 3339 string; None when absent or malformed."""
    if not isinstance(text, str):
        return None
    try:
        value = parse_rfc3339(text)
    except TimestampError:
        return None
    return timestamp_pb2.Timestamp(seconds=int(value.timestamp()))


def api_spec(cr: dict[str, Any], spec_class: type[Message]) -> Message:
    """The API spec of a CR spec. `userDataSecretRef` is not mapped back: the API field holds
    the user data itself, which lives in the Secret."""
    spec = spec_class()
    fields = set(spec_fields(spec))
    if isinstance(cr.get("templateID"), str):
        spec.template = cr["templateID"]
    parameters = cr.get("templateParameters")
    if isinstance(parameters, str) and parameters:
        try:
            decoded = json.loads(parameters)
        except ValueError:
            decoded = None
        if isinstance(decoded, dict):
            for name, value in decoded.items():
                copy_into(spec.template_parameters[name], json_value_to_any(value))
    restart = timestamp(cr.get("restartRequestedAt"))
    if restart is not None:
        copy_into(spec.restart_requested_at, restart)
    if "image" in fields and isinstance(cr.get("image"), dict):
        spec.image.source_type = str(cr["image"].get("sourceType", ""))
        spec.image.source_ref = str(cr["image"].get("sourceRef", ""))
    for field, key in (("cores", "cores"), ("memory_gib", "memoryGiB")):
        if field in fields and isinstance(cr.get(key), int):
            setattr(spec, field, cr[key])
    for field, key in (("ssh_key", "sshKey"), ("run_strategy", "runStrategy")):
        if field in fields and isinstance(cr.get(key), str):
            setattr(spec, field, cr[key])
    if "boot_disk" in fields and isinstance(cr.get("bootDisk"), dict):
        _set_disk(spec.boot_disk, cr["bootDisk"])
    if "additional_disks" in fields and isinstance(cr.get("additionalDisks"), list):
        for disk in cr["additionalDisks"]:
            if isinstance(disk, dict):
                _set_disk(spec.additional_disks.add(), disk)
    return spec


def _set_disk(target: Message, disk: dict[str, Any]) -> None:
    if isinstance(disk.get("sizeGiB"), int):
        target.size_gib = disk["sizeGiB"]
    if isinstance(disk.get("storageClass"), str):
        target.storage_class = disk["storageClass"]
