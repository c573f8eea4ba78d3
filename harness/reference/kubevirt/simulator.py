"""The simulated KubeVirt's I/O: informers on VMs and VMIs, a work queue keyed by VM, and the
writes that move VMIs through their lifecycle and keep VM status in step.

Level-triggered: every pass looks at the cached VM and VMI of one key and makes one step
towards the state the VM asks for; timed steps (boot phases, shutdown, the same-second guard)
requeue the key for later instead of sleeping.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from kubernetes import client as k8s

from harness.contract.profiles import KUBEVIRT_GROUP, KUBEVIRT_VERSION, VM_PLURAL, VMI_PLURAL
from harness.reference.component_client import (
    DELETED,
    AlreadyExistsError,
    ApiError,
    ConflictError,
    Informer,
    NotFoundError,
    Obj,
    Resource,
    has_status_subresource,
    translated_errors,
)
from harness.reference.kubevirt import lifecycle as lc
from harness.reference.kubevirt.launcher_pods import LauncherPods
from harness.reference.kubevirt.vm_faults import KubeVirtFaults
from harness.reference.workqueue import WorkQueue

logger = logging.getLogger(__name__)

Key = tuple[str, str]
REQUEST_TIMEOUT = (10, 30)


class KubeVirtSimulator:
    def __init__(
        self,
        api_client: k8s.ApiClient,
        boot_delay: float = 0.3,
        shutdown_delay: float = 0.2,
        namespace: str | None = None,
        workers: int = 2,
        watch_timeout: int = 30,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        faults: KubeVirtFaults | None = None,
        launcher_pods: bool = False,
    ) -> None:
        self.api_client = api_client
        self.api = k8s.CustomObjectsApi(api_client)
        self.boot_delay = boot_delay
        self.shutdown_delay = shutdown_delay
        self.namespace = namespace
        self.workers = max(1, workers)
        self.wall_clock = wall_clock
        self.faults = faults if faults is not None and faults.active else None
        # Only where pods run (a real control plane): the embedded API server serves none.
        self.pods = LauncherPods(api_client) if launcher_pods else None
        self.queue: WorkQueue[Key] = WorkQueue()
        self.vms = Informer(
            api_client,
            Resource(KUBEVIRT_GROUP, KUBEVIRT_VERSION, VM_PLURAL, namespace=namespace),
            name="virtualmachines",
            watch_timeout=watch_timeout,
        )
        self.vmis = Informer(
            api_client,
            Resource(KUBEVIRT_GROUP, KUBEVIRT_VERSION, VMI_PLURAL, namespace=namespace),
            name="virtualmachineinstances",
            watch_timeout=watch_timeout,
        )
        self.vm_status_subresource = True
        self.vmi_status_subresource = False
        self._lock = threading.Lock()
        self._boot_started: dict[str, float] = {}
        self._shutdown_started: dict[str, float] = {}
        self._last_deletion: dict[Key, datetime] = {}
        self._created: dict[Key, Obj] = {}
        self._last_written: dict[tuple[str, str, str], Obj] = {}
        # With faults: VMs (by uid) that have had a VMI, and faults already logged.
        self._had_vmi: set[str] = set()
        self._reported: set[tuple[str, str]] = set()
        self._started_at = wall_clock()
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self.vms.add_handler(self._on_vm)
        self.vmis.add_handler(self._on_vmi)

    # lifecycle

    def start(self, sync_timeout: float = 30.0) -> None:
        self.vm_status_subresource = has_status_subresource(
            self.api_client, KUBEVIRT_GROUP, KUBEVIRT_VERSION, VM_PLURAL
        )
        self.vmi_status_subresource = has_status_subresource(
            self.api_client, KUBEVIRT_GROUP, KUBEVIRT_VERSION, VMI_PLURAL
        )
        logger.info(
            "status subresource: virtualmachines %s, virtualmachineinstances %s",
            self.vm_status_subresource,
            self.vmi_status_subresource,
        )
        self._started_at = self.wall_clock()
        for informer in (self.vms, self.vmis):
            informer.start()
        deadline = time.monotonic() + sync_timeout
        for informer in (self.vms, self.vmis):
            if not informer.wait_synced(max(0.0, deadline - time.monotonic())):
                raise TimeoutError(f"informer {informer.name} did not sync in {sync_timeout:.0f} s")
        for index in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"kubevirt-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self.queue.shutdown()
        for informer in (self.vms, self.vmis):
            informer.stop(timeout=0.5)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    # events

    def _on_vm(self, kind: str, obj: Obj, _previous: Obj | None) -> None:
        meta = lc.metadata(obj)
        key = (str(meta.get("namespace")), str(meta.get("name")))
        if kind == DELETED:
            with self._lock:
                self._last_written.pop((*key, str(meta.get("uid") or "")), None)
        self.queue.add(key)

    def _on_vmi(self, kind: str, obj: Obj, _previous: Obj | None) -> None:
        meta = lc.metadata(obj)
        key = (str(meta.get("namespace")), str(meta.get("name")))
        if self.faults is not None:
            owner = lc.owner_uid(obj)
            if owner:
                with self._lock:
                    self._had_vmi.add(owner)
        if kind == DELETED or meta.get("deletionTimestamp"):
            with self._lock:
                self._last_deletion[key] = lc.deletion_time(obj, self.wall_clock())
        if kind == DELETED:
            uid = str(meta.get("uid") or "")
            with self._lock:
                self._boot_started.pop(uid, None)
                self._shutdown_started.pop(uid, None)
                created = self._created.get(key)
                if created is not None and lc.metadata(created).get("uid") == uid:
                    del self._created[key]
            if self.pods is not None:
                self.pods.forget(uid)
        self.queue.add(key)

    # work loop

    def _work(self) -> None:
        while not self._stopping.is_set():
            key = self.queue.get()
            if key is None:
                return
            try:
                delay = self.reconcile(key)
            except ApiError as error:
                retry = self.queue.add_rate_limited(key)
                logger.warning("%s/%s: %s (retry in %.3f s)", *key, error, retry)
            except Exception:
                retry = self.queue.add_rate_limited(key)
                logger.exception("%s/%s: reconcile crashed (retry in %.3f s)", *key, retry)
            else:
                self.queue.forget(key)
                if delay is not None:
                    self.queue.add_after(key, delay)
            finally:
                self.queue.done(key)

    def reconcile(self, key: Key) -> float | None:
        """One step for the VM/VMI pair of `key`; returns seconds until the next timed step."""
        namespace, name = key
        vm = self.vms.get(namespace, name)
        vmi = self._current_vmi(key)
        owner = lc.owner_uid(vmi) if vmi is not None else None
        owned = vmi is not None and vm is not None and self._owned(vmi, vm)
        delay: float | None = None

        if vmi is not None and lc.is_deleting(vmi):
            delay = self._shut_down(vmi)
        elif owned and vm is not None and (lc.is_deleting(vm) or not lc.wants_running(vm)):
            # A VM being deleted loses its VMI through garbage collection, not through us.
            if not lc.is_deleting(vm):
                logger.info("%s/%s: run strategy halts the VM, deleting its VMI", namespace, name)
                self._delete_vmi(namespace, name)
        elif vmi is not None and (owned or owner is None):
            vmi = self._boot(vmi)
            delay = self._boot_remaining(vmi)
        elif vmi is None and vm is not None and not lc.is_deleting(vm) and lc.wants_running(vm):
            self._write_vm_status(vm, None)
            if self._never_recreated(vm):
                return None
            wait = self._seconds_until_creation_allowed(key)
            if wait > 0:
                return wait
            vmi = self._create_vmi(namespace, name)
            if vmi is not None:
                delay = self._boot_remaining(vmi)
        # A VMI owned by an older VM of the same name is left to garbage collection.

        if vm is not None:
            vm = self.vms.get(namespace, name) or vm
            self._write_vm_status(vm, vmi if vmi is not None and self._owned(vmi, vm) else None)
        return delay

    def _current_vmi(self, key: Key) -> Obj | None:
        """The cached VMI, or the one we just created if the watch has not delivered it yet."""
        cached = self.vmis.get(*key)
        with self._lock:
            if cached is not None:
                self._created.pop(key, None)
                return cached
            return self._created.get(key)

    # steps

    @staticmethod
    def _owned(vmi: Obj | None, vm: Obj) -> bool:
        return vmi is not None and lc.owner_uid(vmi) == str(lc.metadata(vm).get("uid") or "")

    def _never_recreated(self, vm: Obj) -> bool:
        """`never-recreate`: a VM that has had a VMI gets no replacement."""
        if self.faults is None:
            return False
        meta = lc.metadata(vm)
        uid, name = str(meta.get("uid") or ""), str(meta.get("name"))
        with self._lock:
            replacement = uid in self._had_vmi
        spec = self.faults.never_recreate(name, uid) if replacement else None
        if spec is not None:
            namespace = meta.get("namespace")
            self._report(spec, uid, f"{namespace}/{name}: fault {spec}: no replacement VMI")
        return spec is not None

    def _report(self, spec: str, uid: str, message: str) -> None:
        """Log an injected fault once per object."""
        with self._lock:
            if (spec, uid) in self._reported:
                return
            self._reported.add((spec, uid))
        logger.info("%s", message)

    def _boot_delay(self, vmi: Obj) -> float:
        if self.faults is None:
            return self.boot_delay
        meta = lc.metadata(vmi)
        uid = str(meta.get("uid") or "")
        return self.faults.boot_delay(str(meta.get("name")), uid, self.boot_delay)

    def _seconds_until_creation_allowed(self, key: Key) -> float:
        with self._lock:
            last = self._last_deletion.get(key, self._started_at)
        earliest = lc.earliest_creation(last)
        return max(0.0, (earliest - self.wall_clock()).total_seconds())

    def _create_vmi(self, namespace: str, name: str) -> Obj | None:
        # Re-read the VM: never start a VMI for a VM that is gone or being deleted.
        vm = self._get(VM_PLURAL, namespace, name)
        if vm is None or lc.is_deleting(vm) or not lc.wants_running(vm):
            return None
        body = lc.new_vmi(vm)
        if self.vmi_status_subresource:
            body.pop("status", None)
        try:
            with translated_errors():
                created = self.api.create_namespaced_custom_object(
                    KUBEVIRT_GROUP,
                    KUBEVIRT_VERSION,
                    namespace,
                    VMI_PLURAL,
                    body,
                    _request_timeout=REQUEST_TIMEOUT,
                )
        except AlreadyExistsError:
            return None
        uid = str(lc.metadata(created).get("uid") or "")
        with self._lock:
            self._boot_started[uid] = time.monotonic()
            self._created[(namespace, name)] = created
        logger.info(
            "%s/%s: created VMI uid=%s creationTimestamp=%s",
            namespace,
            name,
            uid,
            lc.metadata(created).get("creationTimestamp"),
        )
        if self.vmi_status_subresource or not (created.get("status") or {}).get("phase"):
            created = self._write_vmi_status(created, lc.PENDING)
        if self.pods is not None:
            self.pods.ensure(created)
        return created

    def _boot(self, vmi: Obj) -> Obj:
        if self.pods is not None:
            self.pods.ensure(vmi)
        uid = str(lc.metadata(vmi).get("uid") or "")
        with self._lock:
            started = self._boot_started.setdefault(uid, time.monotonic())
        target = lc.boot_phase(time.monotonic() - started, self._boot_delay(vmi))
        current = (vmi.get("status") or {}).get("phase")
        if lc.phase_rank(target) > lc.phase_rank(current) or current is None:
            logger.info("%s/%s: VMI %s → %s", *self._key(vmi), current, target)
            return self._write_vmi_status(vmi, target)
        return vmi

    def _boot_remaining(self, vmi: Obj) -> float | None:
        uid = str(lc.metadata(vmi).get("uid") or "")
        with self._lock:
            started = self._boot_started.get(uid)
        if started is None:
            return None
        return lc.next_boot_step(time.monotonic() - started, self._boot_delay(vmi))

    def _shut_down(self, vmi: Obj) -> float | None:
        if self.pods is not None:
            self.pods.delete(vmi)
        uid = str(lc.metadata(vmi).get("uid") or "")
        with self._lock:
            started = self._shutdown_started.setdefault(uid, time.monotonic())
        ready = next(
            (
                c
                for c in (vmi.get("status") or {}).get("conditions") or []
                if c.get("type") == lc.READY
            ),
            {},
        )
        if ready.get("reason") != lc.REASON_POD_TERMINATING:
            phase = (vmi.get("status") or {}).get("phase") or lc.PENDING
            vmi = self._write_vmi_status(vmi, phase)
        if self.faults is not None:
            namespace, name = self._key(vmi)
            spec = self.faults.hang_deletion(name, uid)
            if spec is not None:
                message = f"{namespace}/{name}: fault {spec}: VMI {uid} keeps its finalizers"
                self._report(spec, uid, message)
                return None
        remaining = started + self.shutdown_delay - time.monotonic()
        if remaining > 0:
            return remaining
        self._remove_finalizers(*self._key(vmi))
        return None

    # writes

    @staticmethod
    def _key(obj: Obj) -> Key:
        meta = lc.metadata(obj)
        return str(meta.get("namespace")), str(meta.get("name"))

    def _get(self, plural: str, namespace: str, name: str) -> Obj | None:
        try:
            with translated_errors():
                return self.api.get_namespaced_custom_object(
                    KUBEVIRT_GROUP,
                    KUBEVIRT_VERSION,
                    namespace,
                    plural,
                    name,
                    _request_timeout=REQUEST_TIMEOUT,
                )
        except NotFoundError:
            return None

    def _delete_vmi(self, namespace: str, name: str) -> None:
        with contextlib.suppress(NotFoundError), translated_errors():
            self.api.delete_namespaced_custom_object(
                KUBEVIRT_GROUP,
                KUBEVIRT_VERSION,
                namespace,
                VMI_PLURAL,
                name,
                _request_timeout=REQUEST_TIMEOUT,
            )

    def _remove_finalizers(self, namespace: str, name: str) -> None:
        for _attempt in range(5):
            vmi = self._get(VMI_PLURAL, namespace, name)
            if vmi is None:
                return
            finalizers = list(lc.metadata(vmi).get("finalizers") or [])
            kept = [f for f in finalizers if f not in lc.VMI_FINALIZERS]
            if kept == finalizers:
                return
            vmi["metadata"]["finalizers"] = kept
            try:
                with translated_errors():
                    self.api.replace_namespaced_custom_object(
                        KUBEVIRT_GROUP,
                        KUBEVIRT_VERSION,
                        namespace,
                        VMI_PLURAL,
                        name,
                        vmi,
                        _request_timeout=REQUEST_TIMEOUT,
                    )
            except ConflictError:
                continue
            except NotFoundError:
                return
            logger.info("%s/%s: VMI shut down, finalizers removed", namespace, name)
            return
        raise ConflictError(409, f"could not remove finalizers of VMI {namespace}/{name}")

    def _write_vmi_status(self, vmi: Obj, phase: str) -> Obj:
        namespace, name = self._key(vmi)
        status = lc.vmi_status(vmi, phase, self.wall_clock())
        patch = {"status": lc.status_merge_patch(vmi.get("status"), status)}
        api = self.api
        try:
            with translated_errors():
                # Real KubeVirt's VMI CRD has no status subresource; follow whatever is loaded.
                write = (
                    api.patch_namespaced_custom_object_status
                    if self.vmi_status_subresource
                    else api.patch_namespaced_custom_object
                )
                updated = write(
                    KUBEVIRT_GROUP,
                    KUBEVIRT_VERSION,
                    namespace,
                    VMI_PLURAL,
                    name,
                    patch,
                    _request_timeout=REQUEST_TIMEOUT,
                )
        except NotFoundError:
            return vmi
        with self._lock:
            if (namespace, name) in self._created:
                self._created[(namespace, name)] = updated
        return updated

    def _write_vm_status(self, vm: Obj, vmi: Obj | None) -> None:
        status = lc.vm_status(vm, vmi, self.wall_clock())
        current = vm.get("status") or {}
        namespace, name = self._key(vm)
        written_key = (namespace, name, str(lc.metadata(vm).get("uid") or ""))
        # The cache may lag our own last write; we are the only writer of VM status.
        if status == current or status == self._last_written.get(written_key):
            return
        patch = {"status": lc.status_merge_patch(current, status)}
        api = self.api
        try:
            with translated_errors():
                write = (
                    api.patch_namespaced_custom_object_status
                    if self.vm_status_subresource
                    else api.patch_namespaced_custom_object
                )
                write(
                    KUBEVIRT_GROUP,
                    KUBEVIRT_VERSION,
                    namespace,
                    VM_PLURAL,
                    name,
                    patch,
                    _request_timeout=REQUEST_TIMEOUT,
                )
        except NotFoundError:
            return
        with self._lock:
            self._last_written[written_key] = status
        if current.get("printableStatus") != status.get("printableStatus"):
            logger.info(
                "%s/%s: VM %s → %s",
                namespace,
                name,
                current.get("printableStatus") or "-",
                status["printableStatus"],
            )
