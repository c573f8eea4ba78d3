"""Wires informers, the work queue, worker threads, the reconciler and the provisioner.

Watches (contract §7.5): ComputeInstances in the hub namespace; VirtualMachines in every
namespace that carry label `<prefix>computeinstance`, mapped back to the CR of that name in the
hub namespace; Tenants, mapped to the CRs whose tenant annotation names them. VMIs are not
watched: the controller learns about VMI churn through the VM status that KubeVirt updates.
Tenants are watched in the tenant namespace (the operator filters Tenant events by the hub
namespace; the two are the same by default). The reference provisioner also enqueues a CR when
one of its jobs changes state, so job progress does not wait for the poll interval.
"""

from __future__ import annotations

import logging
import threading
import time

from kubernetes import client as k8s

from harness.contract.profiles import KUBEVIRT_GROUP, KUBEVIRT_VERSION, VM_PLURAL, Profile
from harness.reference.component_client import Informer, Obj, Resource
from harness.reference.controller import job_styles
from harness.reference.controller.cluster import KubeCluster
from harness.reference.controller.reconciler import DEFAULT_POLL_INTERVAL, Reconciler
from harness.reference.controller.reference_provider import ReferenceProvider
from harness.reference.controller.restart import REFERENCE, RestartAlgorithm
from harness.reference.workqueue import WorkQueue

logger = logging.getLogger(__name__)

Key = tuple[str, str]


class ControllerManager:
    def __init__(
        self,
        api_client: k8s.ApiClient,
        profile: Profile,
        hub_namespace: str,
        tenant_namespace: str,
        provision_delay: float = 0.2,
        workers: int = 4,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        watch_timeout: int = 30,
        restart: RestartAlgorithm = REFERENCE,
        reconciler_class: type[Reconciler] = Reconciler,
        provider_style: str = job_styles.REFERENCE,
    ) -> None:
        """`restart` and `reconciler_class` are the reference ones unless a mutant is chosen;
        `provider_style` is how jobs read in `status.jobs` (`job_styles`)."""
        self.profile = profile
        self.hub_namespace = hub_namespace
        self.tenant_namespace = tenant_namespace
        self.workers = max(1, workers)
        self.queue: WorkQueue[Key] = WorkQueue()
        self.cluster = KubeCluster(api_client, profile)
        self.instances = Informer(
            api_client,
            Resource(profile.group, profile.version, profile.plural, namespace=hub_namespace),
            name="computeinstances",
            watch_timeout=watch_timeout,
        )
        self.vms = Informer(
            api_client,
            Resource(
                KUBEVIRT_GROUP,
                KUBEVIRT_VERSION,
                VM_PLURAL,
                label_selector=profile.instance_name_label,
            ),
            name="virtualmachines",
            watch_timeout=watch_timeout,
        )
        self.tenants = Informer(
            api_client,
            Resource(
                profile.group, profile.version, profile.tenant_plural, namespace=tenant_namespace
            ),
            name="tenants",
            watch_timeout=watch_timeout,
        )
        self.provider = ReferenceProvider(
            profile,
            self.cluster,
            self.vms,
            self._enqueue,
            provision_delay,
            style=job_styles.style_named(provider_style),
        )
        self.reconciler = reconciler_class(
            profile, self.cluster, tenant_namespace, self.provider, poll_interval, restart=restart
        )
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self.instances.add_handler(self._on_instance)
        self.vms.add_handler(self._on_vm)
        self.tenants.add_handler(self._on_tenant)

    # event mapping

    def _enqueue(self, namespace: str, name: str) -> None:
        self.queue.add((namespace, name))

    def _on_instance(self, _kind: str, obj: Obj, _previous: Obj | None) -> None:
        metadata = obj.get("metadata") or {}
        if metadata.get("namespace") == self.hub_namespace:
            self._enqueue(self.hub_namespace, str(metadata.get("name")))

    def _on_vm(self, _kind: str, obj: Obj, _previous: Obj | None) -> None:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        name = labels.get(self.profile.instance_name_label)
        if not name:
            return
        # Only CRs of this controller's hub namespace (the operator checks the CR exists).
        if self.instances.get(self.hub_namespace, name) is None:
            logger.debug("VM %s maps to no ComputeInstance in %s", name, self.hub_namespace)
            return
        self._enqueue(self.hub_namespace, name)

    def _on_tenant(self, _kind: str, obj: Obj, _previous: Obj | None) -> None:
        tenant = (obj.get("metadata") or {}).get("name")
        annotation = self.profile.tenant_annotation
        for ci in self.instances.items():
            metadata = ci.get("metadata") or {}
            if (metadata.get("annotations") or {}).get(annotation) == tenant:
                self._enqueue(self.hub_namespace, str(metadata.get("name")))

    # lifecycle

    def start(self, sync_timeout: float = 30.0) -> None:
        for informer in (self.instances, self.vms, self.tenants):
            informer.start()
        deadline = time.monotonic() + sync_timeout
        for informer in (self.instances, self.vms, self.tenants):
            if not informer.wait_synced(max(0.0, deadline - time.monotonic())):
                raise TimeoutError(
                    f"informer {informer.name} did not sync within {sync_timeout:.0f} s"
                )
        for index in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self.provider.stop()
        self.queue.shutdown()
        for informer in (self.instances, self.vms, self.tenants):
            informer.stop(timeout=0.5)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _work(self) -> None:
        while not self._stopping.is_set():
            key = self.queue.get()
            if key is None:
                return
            try:
                self._process(key)
            finally:
                self.queue.done(key)

    def _process(self, key: Key) -> None:
        namespace, name = key
        try:
            outcome = self.reconciler.reconcile(namespace, name)
        except Exception as error:  # a bug must not kill the worker
            logger.exception("reconcile %s/%s crashed", namespace, name)
            delay = self.queue.add_rate_limited(key)
            logger.info(
                "retrying %s/%s in %.3f s after %s", namespace, name, delay, type(error).__name__
            )
            return
        if outcome.error is not None:
            delay = self.queue.add_rate_limited(key)
            logger.warning(
                "reconcile %s/%s failed: %s (retry in %.3f s)",
                namespace,
                name,
                outcome.error,
                delay,
            )
        elif outcome.requeue_after > 0:
            self.queue.forget(key)
            self.queue.add_after(key, outcome.requeue_after)
        else:
            self.queue.forget(key)
