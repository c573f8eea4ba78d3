"""Simulated KubeVirt: keeps one VirtualMachineInstance per running VirtualMachine and writes
VM/VMI status the way KubeVirt does, run as `python -m harness.reference.kubevirt`.

Behaviour:

- A VM with `spec.runStrategy: Always` (or era-A `spec.running: true`) gets one VMI of the same
  name and namespace, owned by the VM (controller, blockOwnerDeletion), labelled and specified
  from `spec.template`, carrying KubeVirt's VMI finalizers. The VMI walks Pending → Scheduling →
  Scheduled → Running over the boot delay; Running brings a node name, an interface IP and
  `Ready=True`. The VM's `printableStatus` follows (Provisioning/Starting → Running; Stopping
  while the VMI shuts down; Stopped when halted), with `created`, `ready` and a `Ready`
  condition. VM status goes through `/status` when the VM CRD has that subresource, VMI status
  through the main endpoint unless the VMI CRD has one (real KubeVirt: VM yes, VMI no).
- Deleting a VMI is graceful: the finalizers keep it while the VM shows Stopping; after the
  shutdown delay they are removed and, for a VM that still wants to run, a new VMI is created.
- `runStrategy: Halted` (or `running: false`) deletes the VMI; the VM becomes Stopped.
- A VM being deleted is left to the API server's garbage collector (ownerReferences); nothing
  recreates its VMI.
- With `--launcher-pods` (a control plane that runs pods) each VMI also gets its virt-launcher
  pod, labelled and owned as KubeVirt makes it, deleted when the VMI shuts down
  (`launcher_pods`).

The same-second hazard. `metadata.creationTimestamp` has whole-second resolution, and the
controller completes a restart only when `vmi.creationTimestamp > spec.restartRequestedAt`,
strictly (contract §7.4). A client typically sends a request for the current second and the
controller deletes the VMI within that second; if the replacement VMI were created in the same
wall-clock second, its creationTimestamp would equal the request and the restart would never
complete. Real KubeVirt takes seconds to recreate a VMI, a simulator takes milliseconds. So the
simulator never creates a replacement VMI before the wall clock has passed into a later second
than the old VMI's `deletionTimestamp` (plus a small margin): the request precedes the
deletion, hence the replacement is always strictly newer than the request, whatever the boot
and shutdown delays. A future-dated request still waits for a VMI created after it, as in
production.
"""
