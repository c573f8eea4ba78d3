"""The harness's fulfillment API client: the only client-side code that speaks gRPC.

Suites see plain dataclasses with enum values as names (`COMPUTE_INSTANCE_STATE_RUNNING`), never
protobuf messages, because enum numbers were reused across eras. Every call is reported to an
optional observer so the test timeline shows API traffic next to the watched objects.
"""

from __future__ import annotations

import copy
import logging
import socket
import ssl
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import grpc
from google.protobuf import timestamp_pb2
from google.protobuf.message import Message

from harness.clients.retries import never_sent, note_retry, retry_transient
from harness.config import Settings
from harness.contract.profiles import CREATE_ATTEMPT_LABEL, Profile
from harness.contract.wire import WireModules, load_wire
from harness.contract.wire.pools import copy_into

log = logging.getLogger("harness.clients.fulfillment_api")

CALL_TIMEOUT = 20.0
# Waits of 0.05 s doubling to 2 s: about 10 s in all, enough to ride out a restarted
# port-forward (the usual way to this API), short of the reachability watch's verdict.
ATTEMPTS = 10
PROBE_TIMEOUT = 5.0


class ApiError(RuntimeError):
    """A fulfillment API call failed; `code` is the gRPC status code name."""

    def __init__(self, method: str, code: str, details: str) -> None:
        super().__init__(f"{method} failed: {code}: {details}")
        self.method = method
        self.code = code
        self.details = details


class ApiUnusable(RuntimeError):
    """The API cannot be used at all (unreachable, TLS, token); one line saying why."""


@dataclass(frozen=True)
class ApiCondition:
    type: str
    status: str
    reason: str
    message: str
    last_transition_time: str | None


@dataclass(frozen=True)
class ApiInstance:
    id: str
    name: str
    state: str
    conditions: dict[str, ApiCondition]
    last_restarted_at: str | None
    restart_requested_at: str | None
    ip_address: str
    template: str
    run_strategy: str | None
    labels: dict[str, str] = field(default_factory=dict)

    def condition(self, type_name: str) -> ApiCondition | None:
        return self.conditions.get(type_name)


@dataclass(frozen=True)
class InstanceSpec:
    """What a test asks for. Era-B explicit fields are sent only when the profile has them."""

    template: str = "osac.templates.ocp_virt_vm"
    image_source_type: str = "registry"
    image_source_ref: str = "quay.io/containerdisks/fedora:latest"
    cores: int = 2
    memory_gib: int = 4
    boot_disk_gib: int = 20
    run_strategy: str = "Always"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ApiAnswer:
    """One instance as an answer carried it: its state and condition statuses, by name."""

    id: str
    state: str
    conditions: dict[str, str]


@dataclass(frozen=True)
class ApiCall:
    method: str
    started: float
    duration: float
    code: str
    request: str
    answered: tuple[ApiAnswer, ...] = ()


CallObserver = Callable[[ApiCall], None]


def timestamp_from_rfc3339(value: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value.astimezone(UTC))
    return stamp


def rfc3339_from_timestamp(stamp: timestamp_pb2.Timestamp) -> str:
    moment = datetime.fromtimestamp(stamp.seconds, UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if stamp.nanos:
        text += f".{stamp.nanos:09d}".rstrip("0")
    return text + "Z"


def _channel_credentials(settings: Settings, address: str) -> grpc.ChannelCredentials | None:
    tls = settings.api_tls
    if tls.plaintext:
        return None
    if tls.ca_file is not None:
        return grpc.ssl_channel_credentials(root_certificates=tls.ca_file.read_bytes())
    if tls.insecure:
        return grpc.ssl_channel_credentials(root_certificates=_fetch_server_certificate(address))
    return grpc.ssl_channel_credentials()


def _fetch_server_certificate(address: str) -> bytes:
    """For --api-insecure: trust whatever certificate the server presents (grpcurl -insecure)."""
    host, _, port = address.rpartition(":")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((host, int(port)), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except OSError as error:
        raise ApiUnusable(f"cannot reach the fulfillment API at {address}: {error}") from None
    if der is None:
        raise ApiUnusable(f"the fulfillment API at {address} presented no TLS certificate")
    return ssl.DER_cert_to_PEM_cert(der).encode()


class FulfillmentClient:
    def __init__(
        self,
        settings: Settings,
        token: str | None = None,
        observer: CallObserver | None = None,
    ) -> None:
        if not settings.api_address:
            raise ApiUnusable("no fulfillment API address configured")
        self.profile: Profile = settings.profile
        self.address = settings.api_address
        self.wire: WireModules = load_wire(settings.profile)
        self._token = token if token is not None else settings.api_token
        self.observer = observer
        credentials = _channel_credentials(settings, self.address)
        options: list[tuple[str, Any]] = [("grpc.enable_retries", 0)]
        if settings.api_tls.insecure:
            options.append(("grpc.ssl_target_name_override", self.address.rpartition(":")[0]))
        if credentials is None:
            self.channel = grpc.insecure_channel(self.address, options=options)
        else:
            self.channel = grpc.secure_channel(self.address, credentials, options=options)
        self.public = self.wire.grpc.ComputeInstancesStub(self.channel)
        self.private = self.wire.private_grpc.ComputeInstancesStub(self.channel)

    def close(self) -> None:
        self.channel.close()

    def bound(self, observer: CallObserver) -> FulfillmentClient:
        """The same connection, reporting its calls to `observer` (e.g. a test's timeline)."""
        view = copy.copy(self)
        view.observer = observer
        return view

    # --- plumbing -------------------------------------------------------------------------

    def _metadata(self) -> Sequence[tuple[str, str]]:
        return [("authorization", f"Bearer {self._token}")] if self._token else []

    def _call(
        self,
        method: str,
        stub_method: Callable[..., Any],
        request: Any,
        idempotent: bool,
        timeout: float = CALL_TIMEOUT,
        retry: bool = True,
    ) -> Any:
        """An idempotent call is retried on transport trouble, any other only when it never
        left (no connection); `retry=False` asks once."""

        def attempt() -> Any:
            return stub_method(request, metadata=self._metadata(), timeout=timeout)

        started = time.time()
        code = "OK"
        response: Any = None
        try:
            if not retry:
                response = attempt()
            elif idempotent:
                response = retry_transient(attempt, f"gRPC {method}", attempts=ATTEMPTS)
            else:
                response = retry_transient(
                    attempt, f"gRPC {method}", attempts=ATTEMPTS, retry_if=never_sent
                )
            return response
        except grpc.RpcError as error:
            code = error.code().name if error.code() else "UNKNOWN"
            raise ApiError(method, code, error.details() or "") from None
        finally:
            if self.observer is not None:
                self.observer(
                    ApiCall(
                        method,
                        started,
                        time.time() - started,
                        code,
                        _summarize(request),
                        self._answered(response),
                    )
                )

    def _answered(self, response: Any) -> tuple[ApiAnswer, ...]:
        """The instances an answer carried (`object`, or the `items` of a List)."""
        if response is None:
            return ()
        fields = response.DESCRIPTOR.fields_by_name
        messages = list(response.items) if "items" in fields else []
        if "object" in fields and response.HasField("object"):
            messages.append(response.object)
        answers = []
        for message in messages:
            view = self._view(message)
            conditions = {name: item.status for name, item in view.conditions.items()}
            answers.append(ApiAnswer(view.id, view.state, conditions))
        return tuple(answers)

    # --- public API -----------------------------------------------------------------------

    def check_usable(self, retry: bool = True) -> None:
        """List with limit 1: proves reachability, TLS and the token, or says which failed.
        `retry=False` asks once and briefly (a watchdog's question: is it there now? It must
        be answered before the tests' own calls time out)."""
        try:
            self._call(
                "List",
                self.public.List,
                self.wire.service.ComputeInstancesListRequest(limit=1),
                idempotent=True,
                timeout=CALL_TIMEOUT if retry else PROBE_TIMEOUT,
                retry=retry,
            )
        except ApiError as error:
            if error.code == "UNAVAILABLE":
                raise ApiUnusable(
                    f"the fulfillment API at {self.address} is unreachable or refused TLS: "
                    f"{error.details}"
                ) from None
            if error.code == "UNAUTHENTICATED":
                raise ApiUnusable(
                    f"the fulfillment API at {self.address} rejected the token: {error.details}"
                ) from None
            if error.code == "UNIMPLEMENTED":
                raise ApiUnusable(
                    f"the fulfillment API at {self.address} does not serve "
                    f"{self.profile.grpc.public_service} (profile {self.profile.name}); "
                    "is --profile right?"
                ) from None
            raise ApiUnusable(f"the fulfillment API at {self.address}: {error}") from None

    def check_private(self) -> None:
        """Private `List` with limit 1 under this client's token; raises ApiError when refused
        (PERMISSION_DENIED: the token's subject is not an admin)."""
        self._call(
            "private List",
            self.private.List,
            self.wire.private_service.ComputeInstancesListRequest(limit=1),
            idempotent=True,
        )

    def create(
        self,
        spec: InstanceSpec,
        restart_requested_at: datetime | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> ApiInstance:
        message = self._spec_message(spec)
        if restart_requested_at is not None:
            copy_into(message.restart_requested_at, timestamp_from_rfc3339(restart_requested_at))
        instance = self.wire.types.ComputeInstance(spec=message)
        instance.metadata.labels.update(labels or {})
        # A label only this attempt carries makes Create safe to retry: before a retry, the
        # harness looks for an instance that already carries it.
        attempt = str(uuid.uuid4())
        instance.metadata.labels[CREATE_ATTEMPT_LABEL] = attempt
        request = self.wire.service.ComputeInstancesCreateRequest(object=instance)

        def create() -> ApiInstance:
            response = self._call("Create", self.public.Create, request, idempotent=False)
            return self._view(response.object)

        def find_or_create() -> ApiInstance:
            for item in self.list():
                if item.labels.get(CREATE_ATTEMPT_LABEL) == attempt:
                    return item
            return create()

        try:
            return create()
        except ApiError as error:
            if error.code != "UNAVAILABLE":
                raise
            note_retry(f"retry of gRPC Create ({error}) after checking it is absent")
            return retry_transient(find_or_create, "gRPC Create (checked)")

    def get(self, instance_id: str) -> ApiInstance:
        request = self.wire.service.ComputeInstancesGetRequest(id=instance_id)
        return self._view(self._call("Get", self.public.Get, request, idempotent=True).object)

    def list(self, page: int = 100) -> list[ApiInstance]:
        """Every instance the token sees, page by page (offset/limit)."""
        items: list[ApiInstance] = []
        while True:
            request = self.wire.service.ComputeInstancesListRequest(offset=len(items), limit=page)
            response = self._call("List", self.public.List, request, idempotent=True)
            items += [self._view(item) for item in response.items]
            if not response.items or len(items) >= response.total:
                return items

    def list_first(self, limit: int) -> tuple[list[ApiInstance], int]:
        """The first `limit` instances the token sees, and how many it sees in all."""
        request = self.wire.service.ComputeInstancesListRequest(limit=limit)
        response = self._call("List", self.public.List, request, idempotent=True)
        return [self._view(item) for item in response.items], int(response.total)

    def delete(self, instance_id: str) -> None:
        request = self.wire.service.ComputeInstancesDeleteRequest(id=instance_id)
        self._call("Delete", self.public.Delete, request, idempotent=True)

    def request_restart(self, instance_id: str, at: datetime, template: str) -> ApiInstance:
        """Update `restart_requested_at` the way every peer suite does: the template is sent
        along and the mask names only the restart field (contract §15.2)."""
        spec = self.wire.types.ComputeInstanceSpec(template=template)
        copy_into(spec.restart_requested_at, timestamp_from_rfc3339(at))
        request = self.wire.service.ComputeInstancesUpdateRequest(
            object=self.wire.types.ComputeInstance(id=instance_id, spec=spec),
            update_mask={"paths": ["spec.restart_requested_at"]},
        )
        response = self._call("Update", self.public.Update, request, idempotent=True)
        return self._view(response.object)

    def withdraw_restart(self, instance_id: str, template: str) -> ApiInstance:
        """Clear `restart_requested_at`: the mask names it and the request carries no value, so
        the field is removed (contract §7.2 step 1 is what the operator then does)."""
        spec = self.wire.types.ComputeInstanceSpec(template=template)
        request = self.wire.service.ComputeInstancesUpdateRequest(
            object=self.wire.types.ComputeInstance(id=instance_id, spec=spec),
            update_mask={"paths": ["spec.restart_requested_at"]},
        )
        response = self._call("Update", self.public.Update, request, idempotent=True)
        return self._view(response.object)

    def update_field(
        self, instance_id: str, template: str, api_path: str, value: Any
    ) -> ApiInstance:
        """Update one spec field (`cores`, `image.source_ref`, …) with the mask naming only it;
        the template goes along as the peers send it."""
        spec = self.wire.types.ComputeInstanceSpec(template=template)
        *parents, leaf = api_path.split(".")
        target = spec
        for part in parents:
            target = getattr(target, part)
        if isinstance(value, Message):
            copy_into(getattr(target, leaf), value)
        else:
            setattr(target, leaf, value)
        request = self.wire.service.ComputeInstancesUpdateRequest(
            object=self.wire.types.ComputeInstance(id=instance_id, spec=spec),
            update_mask={"paths": [f"spec.{api_path}"]},
        )
        response = self._call("Update", self.public.Update, request, idempotent=True)
        return self._view(response.object)

    # --- mapping --------------------------------------------------------------------------

    def _spec_message(self, spec: InstanceSpec) -> Any:
        types = self.wire.types
        fields: dict[str, Any] = {"template": spec.template}
        if self.profile.explicit_spec_fields:
            fields.update(
                image=types.ComputeInstanceImage(
                    source_type=spec.image_source_type, source_ref=spec.image_source_ref
                ),
                cores=spec.cores,
                memory_gib=spec.memory_gib,
                boot_disk=types.ComputeInstanceDisk(size_gib=spec.boot_disk_gib),
                run_strategy=spec.run_strategy,
            )
        fields.update(spec.extra)
        return types.ComputeInstanceSpec(**fields)

    def _view(self, message: Any) -> ApiInstance:
        status = message.status
        conditions: dict[str, ApiCondition] = {}
        for condition in status.conditions:
            type_name = _enum_name(condition, "type")
            conditions[type_name] = ApiCondition(
                type=type_name,
                status=_enum_name(condition, "status"),
                reason=condition.reason,
                message=condition.message,
                last_transition_time=rfc3339_from_timestamp(condition.last_transition_time)
                if condition.HasField("last_transition_time")
                else None,
            )
        spec = message.spec
        return ApiInstance(
            id=message.id,
            name=message.metadata.name if message.HasField("metadata") else "",
            state=_enum_name(status, "state"),
            conditions=conditions,
            last_restarted_at=rfc3339_from_timestamp(status.last_restarted_at)
            if status.HasField("last_restarted_at")
            else None,
            restart_requested_at=rfc3339_from_timestamp(spec.restart_requested_at)
            if spec.HasField("restart_requested_at")
            else None,
            ip_address=status.ip_address,
            template=spec.template,
            run_strategy=spec.run_strategy if _has(spec, "run_strategy") else None,
            labels=dict(message.metadata.labels) if message.HasField("metadata") else {},
        )


def _enum_name(message: Any, field_name: str) -> str:
    """Name of an enum field's value, found through the descriptor (the enum may live in a
    sibling file, e.g. `shared.v1.ConditionStatus` in era A)."""
    enum_type = message.DESCRIPTOR.fields_by_name[field_name].enum_type
    value = getattr(message, field_name)
    named = enum_type.values_by_number.get(value)
    return str(named.name) if named is not None else f"{enum_type.name}({value})"


def _has(message: Any, name: str) -> bool:
    try:
        return bool(message.HasField(name))
    except ValueError:
        return False


def _summarize(request: Any) -> str:
    from google.protobuf import text_format

    return text_format.MessageToString(request, as_one_line=True)[:500]
