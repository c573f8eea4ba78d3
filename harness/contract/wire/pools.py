"""Descriptor pools of their own, for eras whose proto packages another era also uses.

Profile `cloudkit` and profile `cloudkit-jobs` both speak `fulfillment.v1` and `private.v1`, with
other enum value names under the same numbers; one descriptor pool cannot hold both (a full name
is defined once per pool). The stubs of `isolated/<pool>/` therefore register in the pool named
`<pool>` here, never in protobuf's default pool, so every era loads into one process.

Each pool starts with copies of the well-known types the protos import. Their message classes
are the pool's own, not `timestamp_pb2.Timestamp` and friends: code that fills a message of any
profile sets well-known fields through `copy_into`, a datetime or a dict, never by handing over
a message built from the default pool.
"""

from __future__ import annotations

import threading

from google.protobuf import (
    any_pb2,
    descriptor_pb2,
    descriptor_pool,
    duration_pb2,
    empty_pb2,
    field_mask_pb2,
    struct_pb2,
    timestamp_pb2,
    wrappers_pb2,
)
from google.protobuf.message import Message

DEFAULT = ""
WELL_KNOWN = (
    any_pb2,
    duration_pb2,
    empty_pb2,
    field_mask_pb2,
    struct_pb2,
    timestamp_pb2,
    wrappers_pb2,
)

_pools: dict[str, descriptor_pool.DescriptorPool] = {}
_lock = threading.Lock()


def pool(name: str) -> descriptor_pool.DescriptorPool:
    """The pool called `name`, created with the well-known types; `""` is the default pool."""
    if name == DEFAULT:
        return descriptor_pool.Default()
    with _lock:
        found = _pools.get(name)
        if found is None:
            found = descriptor_pool.DescriptorPool()
            for module in WELL_KNOWN:
                proto = descriptor_pb2.FileDescriptorProto()
                module.DESCRIPTOR.CopyToProto(proto)
                found.Add(proto)
            _pools[name] = found
        return found


def copy_into(target: Message, value: Message) -> None:
    """`target.CopyFrom(value)`, also when the two come from different pools (same full name):
    the value travels as bytes, and the field is marked present even when it is all zeros."""
    if type(target) is type(value):
        target.CopyFrom(value)
        return
    if target.DESCRIPTOR.full_name != value.DESCRIPTOR.full_name:
        raise TypeError(
            f"cannot copy {value.DESCRIPTOR.full_name} into {target.DESCRIPTOR.full_name}"
        )
    target.Clear()
    target.MergeFromString(value.SerializeToString())
    target.SetInParent()
