"""`--fault fulfillment:…` specs as the outermost gRPC interceptor (grammar:
harness/contract/fault_specs.py).

Faults apply to the `ComputeInstances` methods of both services (never to health or
reflection), before authentication, as a proxy in front of the service would answer:
`error=UNAVAILABLE|DEADLINE_EXCEEDED` answers that status without running the method (nothing
changes), `latency=DURATION` delays the call before it runs. Scope: `methods` (`Get`, `Update`,
…) and `rate`. Every spec covering a call draws, in command-line order, from its own generator
seeded by `--fault-seed` and its position; latencies add up and the first firing error answers.
Draws happen where grpc looks up the handler, once per call in arrival order; the waiting
happens in the worker thread that runs the call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from harness.contract.fault_specs import Chance, FaultSpec

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Fault:
    text: str
    chance: Chance
    methods: frozenset[str] | None
    code: grpc.StatusCode | None
    latency: float

    def covers(self, method: str) -> bool:
        return self.methods is None or method in self.methods


def _compile(spec: FaultSpec, seed: int, position: int) -> _Fault:
    error = spec.settings.get("error")
    methods = spec.values("methods")
    return _Fault(
        text=spec.text,
        chance=Chance(spec.rate, f"{seed}/fulfillment/{position}/{spec.text}"),
        methods=frozenset(methods) if methods else None,
        code=getattr(grpc.StatusCode, error) if error else None,
        latency=0.0 if error else spec.seconds("latency"),
    )


class FaultInterceptor(grpc.ServerInterceptor):
    def __init__(self, specs: Sequence[FaultSpec], seed: int, services: Iterable[str]) -> None:
        self._faults = tuple(_compile(spec, seed, index) for index, spec in enumerate(specs))
        self._services = frozenset(services)

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        service, _, method = handler_call_details.method.strip("/").partition("/")
        if handler is None or not handler.unary_unary or service not in self._services:
            return handler
        latency, error = 0.0, None
        for fault in self._faults:
            if fault.covers(method) and fault.chance.fires():
                if fault.code is None:
                    latency += fault.latency
                elif error is None:
                    error = fault
        if error is None and not latency:
            return handler
        return _faulty(handler, method, latency, error)


def _faulty(
    handler: grpc.RpcMethodHandler, method: str, latency: float, error: _Fault | None
) -> grpc.RpcMethodHandler:
    behavior: Callable[[Any, grpc.ServicerContext], Any] = handler.unary_unary

    def run(request: Any, context: grpc.ServicerContext) -> Any:
        if latency:
            time.sleep(latency)
        if error is not None and error.code is not None:
            logger.info("fault %s: %s answers %s", error.text, method, error.code.name)
            context.abort(error.code, f"injected fault ({error.text})")
        return behavior(request, context)

    return grpc.unary_unary_rpc_method_handler(
        run,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )
