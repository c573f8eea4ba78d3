"""Generated garbage at the reference fulfillment API: a caller without valid credentials is
refused UNAUTHENTICATED before its request is decoded, whatever the bytes; an authenticated one
gets a status, never UNKNOWN; and an id of any size up to the 4 MiB message limit is NOT_FOUND,
never the client's RESOURCE_EXHAUSTED (the status message quoting it is bounded). One API server
and one fulfillment server for the module."""

from __future__ import annotations

import grpc
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from harness.contract.profiles import OSAC
from harness.contract.wire import load_wire
from tests.fulfillment.helpers import (
    ADMIN_TOKEN,
    USER_TOKEN,
    bearer,
    start_apiserver,
    start_fulfillment,
)

from .budget import TEXT, budget

WIRE = load_wire(OSAC)
METHODS = {
    service.full_name: [method.name for method in service.methods]
    for module in (WIRE.service, WIRE.private_service)
    for service in module.DESCRIPTOR.services_by_name.values()
}
call_name = st.sampled_from(sorted(METHODS)).flatmap(
    lambda service: st.tuples(st.just(service), st.sampled_from(METHODS[service]))
)
MESSAGE_LIMIT = 4 * 1024 * 1024  # gRPC's default for a received message


@pytest.fixture(scope="module")
def channel(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grpc")
    apiserver, kubeconfig = start_apiserver(tmp, OSAC)
    fulfillment, address = start_fulfillment(tmp, OSAC, kubeconfig)
    options = [("grpc.max_send_message_length", 2 * MESSAGE_LIMIT)]
    channel = grpc.insecure_channel(address, options=options)
    yield channel
    channel.close()
    fulfillment.stop()
    apiserver.stop()


def raw(channel, service: str, method: str):
    return channel.unary_unary(f"/{service}/{method}", request_serializer=None)


def code_of(call, request, metadata) -> grpc.StatusCode:
    try:
        call(request, timeout=30, metadata=metadata)
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


credentials = st.one_of(
    st.none(),
    st.text(TEXT, max_size=40).map(lambda text: (("authorization", text.strip() or "x"),)),
    st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40).map(
        bearer
    ),
).filter(lambda metadata: metadata is None or metadata[0][1] not in (f"Bearer {USER_TOKEN}",))


@budget(150)
@given(name=call_name, request=st.binary(max_size=2048), metadata=credentials)
def test_garbage_without_valid_credentials_is_unauthenticated(channel, name, request, metadata):
    service, method = name
    if metadata is not None and any(ord(c) < 32 or ord(c) > 126 for c in metadata[0][1]):
        metadata = None  # gRPC refuses such metadata on the client side
    code = code_of(raw(channel, service, method), request, metadata)
    assert code == grpc.StatusCode.UNAUTHENTICATED, code


@budget(100)
@given(name=call_name, request=st.binary(max_size=2048))
def test_garbage_with_valid_credentials_gets_a_status_never_unknown(channel, name, request):
    service, method = name
    code = code_of(raw(channel, service, method), request, bearer(ADMIN_TOKEN))
    assert code not in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.UNAVAILABLE), code


@budget(25)
@example(size=MESSAGE_LIMIT - 64, text="x", token=USER_TOKEN)  # the largest that fits
@given(
    size=st.one_of(st.integers(1, 20_000), st.integers(20_000, MESSAGE_LIMIT - 64)),
    text=st.text(TEXT, min_size=1, max_size=4),
    token=st.sampled_from([USER_TOKEN, ADMIN_TOKEN]),
)
def test_an_id_of_any_size_is_not_found(channel, size, text, token):
    stub = (WIRE.grpc if token == USER_TOKEN else WIRE.private_grpc).ComputeInstancesStub(channel)
    module = WIRE.service if token == USER_TOKEN else WIRE.private_service
    ident = (text * (size // len(text) + 1))[:size]
    while len(ident.encode()) > MESSAGE_LIMIT - 64:
        ident = ident[: len(ident) // 2]
    code = code_of(stub.Get, module.ComputeInstancesGetRequest(id=ident), bearer(token))
    assert code == grpc.StatusCode.NOT_FOUND, (code, size)
