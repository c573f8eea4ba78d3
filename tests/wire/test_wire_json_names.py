"""The generated stubs register exactly the descriptors protoc compiles, `json_name` included."""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest
from google.protobuf import descriptor_pb2

import harness.contract.wire.gen as gen
from harness.contract.wire import generate, json_names
from harness.contract.wire.json_names import JsonNameError, fields, with_json_names
from harness.contract.wire.pools import pool


def generated_modules() -> list[ModuleType]:
    return [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(gen.__path__, f"{gen.__name__}.")
        if info.name.endswith("_pb2")
    ]


def protoc_descriptor_set(tmp: Path, proto_dir: Path = generate.PROTO_DIR) -> dict[str, object]:
    out = tmp / "set.pb"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{proto_dir}",
            f"--descriptor_set_out={out}",
            *map(str, generate.proto_files(proto_dir)),
        ],
        check=True,
        capture_output=True,
    )
    return dict(json_names.load_descriptor_set(out.read_bytes()))


def test_every_registered_descriptor_is_protocs_own(tmp_path):
    for tree in generate.proto_trees():
        compiled = protoc_descriptor_set(tmp_path, tree.proto_dir)
        modules = [m for m in generated_modules() if m.__name__.startswith(f"{tree.package}.")]
        if not tree.pool:
            isolated = tuple(f"{t.package}." for t in generate.proto_trees() if t.pool)
            modules = [m for m in modules if not m.__name__.startswith(isolated)]
        assert {module.DESCRIPTOR.name for module in modules} == set(compiled)
        for module in modules:
            assert module.DESCRIPTOR.pool is pool(tree.pool), module.__name__
            registered = descriptor_pb2.FileDescriptorProto()
            module.DESCRIPTOR.CopyToProto(registered)
            assert registered == compiled[registered.name], registered.name
            unnamed = [f.name for f in fields(registered) if not f.HasField("json_name")]
            assert unnamed == [], registered.name


def test_restart_requested_at_has_its_json_name():
    for module in generated_modules():
        for message in module.DESCRIPTOR.message_types_by_name.values():
            if message.name == "ComputeInstanceSpec":
                proto = descriptor_pb2.DescriptorProto()
                message.CopyToProto(proto)
                names = {field.name: field.json_name for field in proto.field}
                assert names["restart_requested_at"] == "restartRequestedAt", module.__name__


PURE_PYTHON_CHECK = """
from google.protobuf import descriptor_pb2
from google.protobuf.internal import api_implementation
from tests.wire.test_wire_json_names import generated_modules

assert api_implementation.Type() == "python"
checked = 0
for module in generated_modules():
    file = descriptor_pb2.FileDescriptorProto()
    module.DESCRIPTOR.CopyToProto(file)
    pending = [
        (module.DESCRIPTOR.message_types_by_name.values(), file.message_type),
        (module.DESCRIPTOR.enum_types_by_name.values(), file.enum_type),
        (module.DESCRIPTOR.services_by_name.values(), file.service),
    ]
    while pending:
        descriptors, protos = pending.pop()
        for described, proto in zip(descriptors, protos, strict=True):
            copy = type(proto)()
            described.CopyToProto(copy)
            assert copy == proto, described.full_name
            checked += 1
            if hasattr(described, "nested_types"):
                pending.append((described.nested_types, proto.nested_type))
                pending.append((described.enum_types, proto.enum_type))
print(checked)
"""


def test_the_pure_python_runtime_finds_every_part_at_its_offsets():
    """The pure-Python runtime copies each message, enum and service out of the embedded bytes
    by the offsets the generator wrote; they were recomputed for the longer descriptor."""
    result = subprocess.run(
        [sys.executable, "-c", PURE_PYTHON_CHECK],
        env={**os.environ, "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 50


def test_an_explicit_json_name_is_kept(tmp_path):
    protos = tmp_path / "protos"
    (protos / "demo" / "v1").mkdir(parents=True)
    (protos / "demo" / "v1" / "demo.proto").write_text(
        textwrap.dedent(
            """
            syntax = "proto3";
            package demo.v1;
            message Outer {
              message Inner { string deep_name = 1; }
              string plain_name = 1;
              string renamed = 2 [json_name = "somethingElse"];
              Inner inner_value = 3;
              enum Kind { KIND_UNSPECIFIED = 0; }
            }
            enum Colour { COLOUR_UNSPECIFIED = 0; }
            """
        )
    )
    rendered = generate.render(protos)["demo/v1/demo_pb2.py"]
    embedded = json_names.embedded_descriptor(rendered)
    assert {field.name: field.json_name for field in fields(embedded)} == {
        "plain_name": "plainName",
        "renamed": "somethingElse",
        "inner_value": "innerValue",
        "deep_name": "deepName",
    }


def test_a_descriptor_that_differs_in_more_than_json_name_is_refused(tmp_path):
    module = next(m for m in generated_modules() if m.__name__.endswith("instance_type_pb2"))
    text = Path(module.__file__ or "").read_text()
    compiled = json_names.embedded_descriptor(text)
    compiled.message_type[0].field[0].number += 100
    with pytest.raises(JsonNameError, match="more than json_name"):
        with_json_names(text, compiled)
    with pytest.raises(JsonNameError, match="no AddSerializedFile"):
        with_json_names("DESCRIPTOR = None\n", compiled)
