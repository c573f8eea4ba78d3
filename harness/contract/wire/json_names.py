"""Embed in each generated module the descriptor protoc compiles, `json_name` included.

protoc's Python generator embeds a file's FileDescriptorProto as `FileDescriptor::CopyTo` writes
it, and that leaves out the `json_name` protoc computes for every field: only descriptor sets
(`--descriptor_set_out`) and plugin requests carry it. No generator option changes that. Whatever
serves the registered descriptors (gRPC server reflection above all) then shows proto field names
where a server built from protoc-gen-go's descriptors shows JSON names. So `generate` asks protoc
for a descriptor set in the same run, and each module's embedded descriptor is replaced by that
file's, after checking that `json_name` is all that differs. The byte offsets the generator writes
for each message, enum and service (read by the pure-Python runtime) are found again in the new
bytes, as the generator finds them: the first occurrence of that part's own serialization.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from google.protobuf import descriptor_pb2
from google.protobuf.message import Message

FileProto = descriptor_pb2.FileDescriptorProto
FieldProto = descriptor_pb2.FieldDescriptorProto
_EMBEDDED = re.compile(r"AddSerializedFile\((b'(?:[^'\\]|\\.)*')\)")
_OFFSET = re.compile(r"^(\s*_globals\['(\w+)'\]\._serialized_(start|end))=(\d+)$", re.MULTILINE)


class JsonNameError(RuntimeError):
    """A generated module does not look as expected; the message says which and why."""


def load_descriptor_set(data: bytes) -> dict[str, FileProto]:
    files = descriptor_pb2.FileDescriptorSet.FromString(data).file
    return {file.name: file for file in files}


def embedded_descriptor(module_text: str) -> FileProto:
    found = _EMBEDDED.search(module_text)
    if found is None:
        raise JsonNameError("no AddSerializedFile(b'...') call")
    return FileProto.FromString(ast.literal_eval(found.group(1)))


def fields(file: FileProto) -> Iterator[FieldProto]:
    """Every field and extension of the file, nested messages included."""

    def of(message: descriptor_pb2.DescriptorProto) -> Iterator[FieldProto]:
        yield from message.field
        yield from message.extension
        for nested in message.nested_type:
            yield from of(nested)

    yield from file.extension
    for message in file.message_type:
        yield from of(message)


def with_json_names(module_text: str, compiled: FileProto) -> str:
    """The generated module with `compiled` (protoc's descriptor of its file) embedded."""
    found = _EMBEDDED.search(module_text)
    if found is None:
        raise JsonNameError(f"{compiled.name}: no AddSerializedFile(b'...') call")
    old = ast.literal_eval(found.group(1))
    embedded = FileProto.FromString(old)
    _check_only_json_names_differ(embedded, compiled)
    new = compiled.SerializeToString()
    if new == old:
        return module_text
    moved = {
        before.SerializeToString(): after.SerializeToString()
        for before, after in zip(_parts(embedded), _parts(compiled), strict=True)
    }
    intervals: dict[str, dict[str, int]] = {}
    for match in _OFFSET.finditer(module_text):
        intervals.setdefault(match.group(2), {})[match.group(3)] = int(match.group(4))
    offsets: dict[str, dict[str, int]] = {}
    for name, interval in intervals.items():
        part = moved.get(old[interval["start"] : interval["end"]])
        start = new.find(part) if part is not None else -1
        if start < 0:
            raise JsonNameError(f"{compiled.name}: {name} is not a part of the descriptor")
        offsets[name] = {"start": start, "end": start + len(part or b"")}
    text = module_text[: found.start(1)] + repr(new) + module_text[found.end(1) :]
    return _OFFSET.sub(lambda m: f"{m.group(1)}={offsets[m.group(2)][m.group(3)]}", text)


def _parts(file: FileProto) -> Iterator[Message]:
    """Messages (nested too), enums and services, in one fixed order."""

    def of(message: descriptor_pb2.DescriptorProto) -> Iterator[Message]:
        yield message
        yield from message.enum_type
        for nested in message.nested_type:
            yield from of(nested)

    for message in file.message_type:
        yield from of(message)
    yield from file.enum_type
    yield from file.service


def _check_only_json_names_differ(embedded: FileProto, compiled: FileProto) -> None:
    stripped = [FileProto(), FileProto()]
    for copy, source in zip(stripped, (embedded, compiled), strict=True):
        copy.CopyFrom(source)
        for field in fields(copy):
            field.ClearField("json_name")
    if stripped[0] != stripped[1]:
        raise JsonNameError(
            f"{compiled.name}: protoc's descriptor set differs from the generated module "
            "in more than json_name"
        )
    for before, after in zip(fields(embedded), fields(compiled), strict=True):
        if before.HasField("json_name") and before.json_name != after.json_name:
            raise JsonNameError(f"{compiled.name}: {before.name} has another json_name")
