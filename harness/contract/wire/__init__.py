"""The fulfillment gRPC wire format: our own .proto files and the stubs generated from them.
(`protos/kube/` holds the few Kubernetes messages the embedded API server reads in protobuf;
they are generated alongside and imported by that server only.)

`load_wire(profile)` hands back the generated modules of one naming era. The module paths come
from `profile.grpc` (`public_module`, `private_module`), so nothing here spells an era name.
Eras whose packages collide register in descriptor pools of their own (`pools`,
`profile.grpc.descriptor_pool`), so every era loads into one process.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from google.protobuf import descriptor_pool

from harness.contract.profiles import Profile
from harness.contract.wire.pools import pool

GEN_PACKAGE = "harness.contract.wire.gen"
TYPES_MODULE = "compute_instance_type_pb2"
SERVICE_MODULE = "compute_instances_service_pb2"
GRPC_MODULE = "compute_instances_service_pb2_grpc"


@dataclass(frozen=True)
class WireModules:
    types: ModuleType  # public compute_instance_type_pb2
    service: ModuleType  # public compute_instances_service_pb2
    grpc: ModuleType  # public compute_instances_service_pb2_grpc
    private_types: ModuleType
    private_service: ModuleType
    private_grpc: ModuleType
    pool: descriptor_pool.DescriptorPool  # where these modules' descriptors live


def _module(package: str, name: str) -> ModuleType:
    return importlib.import_module(f"{GEN_PACKAGE}.{package}.{name}")


def load_wire(profile: Profile) -> WireModules:
    public = profile.grpc.public_module
    private = profile.grpc.private_module
    return WireModules(
        types=_module(public, TYPES_MODULE),
        service=_module(public, SERVICE_MODULE),
        grpc=_module(public, GRPC_MODULE),
        private_types=_module(private, TYPES_MODULE),
        private_service=_module(private, SERVICE_MODULE),
        private_grpc=_module(private, GRPC_MODULE),
        pool=pool(profile.grpc.descriptor_pool),
    )
