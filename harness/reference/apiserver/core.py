"""One API server instance without its HTTP front: storage, types, watches, semantics, cleanup.

Kept free of aiohttp so that the command line can load and check CRD and seed files (and fail
fast on bad input) before the HTTP stack is imported.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.contract.fault_specs import FaultSpec
from harness.reference.apiserver.auth.access_policy import AccessPolicy
from harness.reference.apiserver.auth.identity import Tokens
from harness.reference.apiserver.crd_controller import CrdController
from harness.reference.apiserver.fault_injector import FaultInjector
from harness.reference.apiserver.garbage_collector import GarbageCollector
from harness.reference.apiserver.gates import Gate
from harness.reference.apiserver.object_store import MemoryStore
from harness.reference.apiserver.registry import Registry
from harness.reference.apiserver.request_log import RequestLog
from harness.reference.apiserver.verbs import ResourceVerbs
from harness.reference.apiserver.watch import WatchHub


class ApiServer:
    """Everything one server instance holds; `http_front.HttpFront(server)` puts HTTP in front.

    `__main__.build_server` passes every argument from the command line:

    - `watch_window`: how many events are kept for watch replay and `continue` tokens; older
      resourceVersions answer 410 Expired. Default 10 000. `--watch-window`.
    - `tokens`: bearer tokens and their users (`auth.identity.Tokens`). Default: none known
      (every bearer token is 401; no token is `system:anonymous`). `--tokens` (a JSON file).
    - `authorizer`: the gate that judges resource requests after the faults. Default: the
      AccessRule policy (`self.policy`). No flag: set in code only.
    - `request_log`: where each request is logged as a JSON line. Default: no log.
      `--request-log`.
    - `bookmark_interval`: seconds between BOOKMARK events on watches that ask for them.
      Default 60. `--bookmark-interval`.
    - `faults`: parsed `--fault apiserver:…` specs (`fault_injector.py`). Default none.
      `--fault` (repeatable).
    - `fault_seed`: seed of the faults' and the AccessRules' random draws. Default 0.
      `--fault-seed`.
    """

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
        self.verbs = ResourceVerbs(self.store, self.registry, self.hub)
        self.gc = GarbageCollector(self.verbs)
        # Shares the collector's queue: both run on the loop attached to it, or at start-up.
        self.crd_controller = CrdController(self.verbs, self.gc.queue)
        self.tokens = tokens or Tokens()
        # AccessRule objects, enforced unless another authorizer is passed in; `--fault` specs.
        self.policy = AccessPolicy(self.hub, seed=fault_seed)
        self.authorizer: Gate = authorizer or self.policy
        self.faults = FaultInjector(faults, fault_seed)
        self.request_log = request_log
        self.bookmark_interval = bookmark_interval
        self.server_address = "127.0.0.1:0"
        self.verbs.create(self.verbs.namespaces, "", {"metadata": {"name": "default"}})
