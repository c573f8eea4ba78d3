"""One API server instance without its HTTP front: storage, types, watches, semantics, cleanup.

Kept free of aiohttp so that the command line can load and check CRD and seed files (and fail
fast on bad input) before the HTTP stack is imported.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.contract.fault_specs import FaultSpec
from harness.reference.apiserver.auth.access_policy import AccessPolicy
from harness.reference.apiserver.auth.identity import Tokens
from harness.reference.apiserver.fault_injector import FaultInjector
from harness.reference.apiserver.garbage_collector import GarbageCollector
from harness.reference.apiserver.gates import Gate
from harness.reference.apiserver.object_store import MemoryStore
from harness.reference.apiserver.registry import Registry
from harness.reference.apiserver.request_log import RequestLog
from harness.reference.apiserver.verbs import Api
from harness.reference.apiserver.watch import WatchHub


class ApiServer:
    """Everything one server instance holds; `app.build_app(server)` puts HTTP in front."""

    def __init__(
        self,
        *,
        watch_window: int = 10_000,
        tokens: Tokens | None = None,
        authorizer: Gate | None = None,
        request_log: RequestLog | None = None,
        bookmark_interval: float = 60.0,
        faults: Sequence[FaultSpec] = (),
        fault_seed: int = 0,
    ) -> None:
        self.store = MemoryStore()
        self.registry = Registry()
        self.hub = WatchHub(watch_window)
        self.api = Api(self.store, self.registry, self.hub)
        self.gc = GarbageCollector(self.api)
        self.tokens = tokens or Tokens()
        # AccessRule objects, enforced unless another authorizer is passed in; `--fault` specs.
        self.policy = AccessPolicy(self.hub, seed=fault_seed)
        self.authorizer: Gate = authorizer or self.policy
        self.faults = FaultInjector(faults, fault_seed)
        self.request_log = request_log
        self.bookmark_interval = bookmark_interval
        self.server_address = "127.0.0.1:0"
        self.api.create(self.api.namespaces, "", {"metadata": {"name": "default"}})
