"""Descriptor pools of their own: well-known fields of a message in an isolated pool take values
built from the default pool only through `copy_into`."""

from __future__ import annotations

import pytest
from google.protobuf import any_pb2, timestamp_pb2, wrappers_pb2

from harness.contract.profiles import CLOUDKIT_JOBS
from harness.contract.wire import load_wire
from harness.contract.wire.pools import copy_into, pool


def test_an_isolated_pool_has_its_own_timestamp_class():
    spec = load_wire(CLOUDKIT_JOBS).types.ComputeInstanceSpec()
    assert type(spec.restart_requested_at) is not timestamp_pb2.Timestamp
    with pytest.raises(TypeError):
        spec.restart_requested_at.CopyFrom(timestamp_pb2.Timestamp(seconds=5))


def test_copy_into_crosses_pools_and_keeps_presence():
    spec = load_wire(CLOUDKIT_JOBS).types.ComputeInstanceSpec()
    copy_into(spec.restart_requested_at, timestamp_pb2.Timestamp(seconds=1_780_000_000))
    assert spec.restart_requested_at.ToJsonString() == "2026-05-28T20:26:40Z"
    copy_into(spec.restart_requested_at, timestamp_pb2.Timestamp())
    assert spec.HasField("restart_requested_at")
    assert spec.restart_requested_at.seconds == 0


def test_copy_into_packs_any_across_pools():
    spec = load_wire(CLOUDKIT_JOBS).types.ComputeInstanceSpec()
    packed = any_pb2.Any()
    packed.Pack(wrappers_pb2.StringValue(value="x"))
    copy_into(spec.template_parameters["name"], packed)
    unpacked = wrappers_pb2.StringValue()
    assert spec.template_parameters["name"].Unpack(unpacked) and unpacked.value == "x"


def test_copy_into_refuses_another_message_type():
    spec = load_wire(CLOUDKIT_JOBS).types.ComputeInstanceSpec()
    with pytest.raises(TypeError, match=r"google\.protobuf\.Any"):
        copy_into(spec.restart_requested_at, any_pb2.Any())


def test_the_default_pool_is_protobufs_own():
    assert pool("") is timestamp_pb2.DESCRIPTOR.pool
    assert pool(CLOUDKIT_JOBS.grpc.descriptor_pool) is pool(CLOUDKIT_JOBS.grpc.descriptor_pool)
