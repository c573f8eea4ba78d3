"""Server reflection serves every file as protoc compiles it: `json_name` on every field, for
every service of every profile and every file they import (read over the socket in Python)."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import grpc_tools
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from harness.contract.profiles import PROFILES as ALL_PROFILES
from harness.contract.wire import generate, json_names
from harness.reference.fulfillment.reflection_pool import served_pool
from tests.fulfillment.helpers import start_fulfillment, write_kubeconfig

PROFILES = [pytest.param(profile, id=profile.name) for profile in ALL_PROFILES.values()]
WELL_KNOWN = ("google/protobuf/any.proto", "google/protobuf/field_mask.proto")
WELL_KNOWN += ("google/protobuf/timestamp.proto",)


def protoc_json_name(name: str) -> str:
    """protoc's rule for a field without `[json_name = ...]`: drop each underscore and
    capitalise the letter after it."""
    out: list[str] = []
    capitalise = False
    for char in name:
        if char == "_":
            capitalise = True
        else:
            out.append(char.upper() if capitalise else char)
            capitalise = False
    return "".join(out)


def protoc(
    tmp: Path, include: Path, files: list[str]
) -> dict[str, descriptor_pb2.FileDescriptorProto]:
    out = tmp / f"{include.name}.pb"
    command = [sys.executable, "-m", "grpc_tools.protoc", f"-I{include}"]
    subprocess.run(
        [*command, f"--descriptor_set_out={out}", *files],
        check=True,
        capture_output=True,
    )
    return json_names.load_descriptor_set(out.read_bytes())


@pytest.fixture(scope="module", params=PROFILES)
def served(request, tmp_path_factory):
    profile = request.param
    tmp = tmp_path_factory.mktemp(f"reflection-{profile.name}")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    kubeconfig = write_kubeconfig(tmp / "kubeconfig", f"http://127.0.0.1:{closed}")
    process, address = start_fulfillment(tmp, profile, kubeconfig)
    channel = grpc.insecure_channel(address)
    yield profile, channel
    channel.close()
    process.stop()


def reflected_files(channel: grpc.Channel) -> dict[str, descriptor_pb2.FileDescriptorProto]:
    """Every file reflection hands out for the services it lists, imports included."""
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)

    def ask(requests: list[reflection_pb2.ServerReflectionRequest]) -> Iterator[object]:
        return iter(stub.ServerReflectionInfo(iter(requests), timeout=10))

    listed = next(ask([reflection_pb2.ServerReflectionRequest(list_services="")]))
    services = [service.name for service in listed.list_services_response.service]
    files: dict[str, descriptor_pb2.FileDescriptorProto] = {}
    requests = [reflection_pb2.ServerReflectionRequest(file_containing_symbol=s) for s in services]
    for response in ask(requests):
        assert response.WhichOneof("message_response") == "file_descriptor_response"
        for data in response.file_descriptor_response.file_descriptor_proto:
            file = descriptor_pb2.FileDescriptorProto.FromString(data)
            files[file.name] = file
    return files


def test_every_served_field_has_protocs_json_name(served, tmp_path):
    profile, channel = served
    files = reflected_files(channel)
    tree = generate.proto_dir_for(profile.grpc.descriptor_pool)
    ours = protoc(tmp_path, tree, list(map(str, generate.proto_files(tree))))
    include = Path(grpc_tools.__file__).parent / "_proto"
    well_known = protoc(tmp_path, include, list(WELL_KNOWN))
    assert set(WELL_KNOWN) <= set(files)
    assert any(name.endswith("health.proto") for name in files)
    served_ours = [name for name in files if name in ours]
    assert any(
        file.package == profile.grpc.public_package
        for name in served_ours
        for file in [files[name]]
    )
    for name, file in files.items():
        for field in json_names.fields(file):
            assert field.HasField("json_name"), f"{name}: {field.name}"
            assert field.json_name == protoc_json_name(field.name), f"{name}: {field.name}"
        if name in ours:
            assert file == ours[name], name  # exactly protoc's descriptor
        if name in well_known:
            compiled = {f.name: f.json_name for f in json_names.fields(well_known[name])}
            assert {f.name: f.json_name for f in json_names.fields(file)} == compiled, name


def test_the_served_pool_names_fields_and_keeps_an_explicit_json_name():
    file = descriptor_pb2.FileDescriptorProto(name="demo/v1/demo.proto", package="demo.v1")
    message = file.message_type.add(name="Request")
    message.field.add(name="restart_requested_at", number=1, type=9, label=1)
    message.field.add(name="renamed", number=2, type=9, label=1, json_name="somethingElse")
    nested = message.nested_type.add(name="Inner")
    nested.field.add(name="deep_name", number=1, type=9, label=1)
    service = file.service.add(name="Demo")
    service.method.add(name="Call", input_type=".demo.v1.Request", output_type=".demo.v1.Request")
    source = descriptor_pool.DescriptorPool()
    source.Add(file)
    pool = served_pool(["demo.v1.Demo"], [source])
    served = descriptor_pb2.FileDescriptorProto()
    pool.FindFileByName("demo/v1/demo.proto").CopyToProto(served)
    assert {f.name: f.json_name for f in json_names.fields(served)} == {
        "restart_requested_at": "restartRequestedAt",
        "renamed": "somethingElse",
        "deep_name": "deepName",
    }
