"""`--fault kubevirt:…` specs: which VMIs boot slowly, which VMs never get a replacement VMI,
which deleted VMIs never finish shutting down (the grammar is in harness/contract/fault_specs.py).

- `boot-delay=DURATION`: a selected VMI takes that long from Pending to Running instead of
  `--boot-delay`.
- `never-recreate`: once a selected VM's VMI has been deleted, the VM never gets another one
  (restart, halt and start alike); its first VMI is created as usual. The VM shows `Starting`.
- `hang-deletion`: a selected VMI that is deleted shows `PodTerminating` and keeps KubeVirt's
  finalizers for ever, so it never goes away (the VM shows `Stopping`).

Scope: `vms` (VM name globs; a VMI has its VM's name) and `rate`. Each decision is made once per
object — per VMI uid for `boot-delay` and `hang-deletion`, per VM uid for `never-recreate` — and
remembered, so a selected object stays selected however often it is reconciled. Draws come from
one generator per spec, seeded by `--fault-seed` and the spec's position.
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from harness.contract.fault_specs import Chance, FaultSpec

BOOT_DELAY = "boot-delay"
NEVER_RECREATE = "never-recreate"
HANG_DELETION = "hang-deletion"


@dataclass(frozen=True)
class _Fault:
    effect: str
    text: str
    chance: Chance
    vms: tuple[str, ...]
    boot_delay: float = 0.0

    def covers(self, vm_name: str) -> bool:
        return not self.vms or any(fnmatch.fnmatchcase(vm_name, pattern) for pattern in self.vms)


def _compile(spec: FaultSpec, seed: int, position: int) -> _Fault:
    return _Fault(
        effect=spec.effect,
        text=spec.text,
        chance=Chance(spec.rate, f"{seed}/kubevirt/{position}/{spec.text}"),
        vms=spec.values("vms"),
        boot_delay=spec.seconds(BOOT_DELAY) if spec.effect == BOOT_DELAY else 0.0,
    )


class KubeVirtFaults:
    """Decisions of the `--fault kubevirt:…` specs; `active` is False without any."""

    def __init__(self, specs: Sequence[FaultSpec] = (), seed: int = 0) -> None:
        self._faults = tuple(_compile(spec, seed, index) for index, spec in enumerate(specs))
        self.active = bool(self._faults)
        self._lock = threading.Lock()
        self._decided: dict[tuple[str, str], _Fault | None] = {}

    def _decide(self, effect: str, uid: str, vm_name: str) -> _Fault | None:
        """The first spec of `effect` covering the VM whose rate fires, once per object uid."""
        key = (effect, uid)
        with self._lock:
            if key not in self._decided:
                self._decided[key] = next(
                    (
                        fault
                        for fault in self._faults
                        if fault.effect == effect and fault.covers(vm_name) and fault.chance.fires()
                    ),
                    None,
                )
            return self._decided[key]

    def boot_delay(self, vm_name: str, vmi_uid: str, default: float) -> float:
        fault = self._decide(BOOT_DELAY, vmi_uid, vm_name)
        return default if fault is None else fault.boot_delay

    def never_recreate(self, vm_name: str, vm_uid: str) -> str | None:
        """The spec that forbids a replacement VMI for this VM, or None."""
        fault = self._decide(NEVER_RECREATE, vm_uid, vm_name)
        return None if fault is None else fault.text

    def hang_deletion(self, vm_name: str, vmi_uid: str) -> str | None:
        """The spec that keeps this deleted VMI's finalizers, or None."""
        fault = self._decide(HANG_DELETION, vmi_uid, vm_name)
        return None if fault is None else fault.text
