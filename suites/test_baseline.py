"""Provisioning smoke: the baseline every restart scenario starts from (contract §6, §9)."""

from __future__ import annotations


def test_instance_created_runs_with_a_running_vmi(compute_instance):
    """Contract §9.1–9.4: a created instance (through `ComputeInstances/Create`, or as a CR with
    `--via cr`) is a CR in the hub namespace labelled with its id and annotated with the tenant;
    the operator adds its finalizer and references the KubeVirt VM it found by
    `<prefix>computeinstance=<CR name>`; that VM's VMI runs; the API reports the running state."""
    instance = compute_instance()
    profile = instance.profile
    cr = instance.cr()
    assert cr is not None, f"the CR vanished; {instance.describe()}"
    metadata = cr["metadata"]

    assert metadata["labels"].get(profile.uuid_label) == instance.id, (
        f"CR {metadata['name']} should carry label {profile.uuid_label}={instance.id} "
        f"(contract §6), has {metadata.get('labels')}"
    )
    assert metadata.get("annotations", {}).get(profile.tenant_annotation), (
        f"CR {metadata['name']} lacks annotation {profile.tenant_annotation} (contract §6); "
        "without it the operator never evaluates restarts"
    )
    assert profile.finalizer in metadata.get("finalizers", []), (
        f"the operator should have added finalizer {profile.finalizer} (contract §7.1 step 1); "
        f"finalizers: {metadata.get('finalizers')}"
    )

    vm = instance.current_vm()
    assert vm is not None, f"no VirtualMachine {instance.vm_namespace}/{instance.vm_name} seen"
    vm_labels = vm.object["metadata"].get("labels", {})
    assert vm_labels.get(profile.instance_name_label) == metadata["name"], (
        f"VM {vm.name} should carry label {profile.instance_name_label}={metadata['name']} "
        f"(contract §6: the operator finds its VM by it), has {vm_labels}"
    )

    if profile.explicit_spec_fields:
        spec, asked = cr["spec"], instance.spec
        stored = (
            spec.get("cores"),
            spec.get("memoryGiB"),
            spec.get("bootDisk", {}).get("sizeGiB"),
            spec.get("image", {}).get("sourceRef"),
            spec.get("runStrategy"),
        )
        wanted = (
            asked.cores,
            asked.memory_gib,
            asked.boot_disk_gib,
            asked.image_source_ref,
            asked.run_strategy,
        )
        assert stored == wanted, f"the CR spec {stored} differs from what was asked {wanted}"

    assert instance.api_lists_it() in (True, None), f"API List does not show {instance.id}"
    view = instance.api_view()
    if view is not None:
        assert view.id == instance.id
        assert view.state == profile.state_for_phase(profile.phases.running), (
            f"API state should mirror phase {profile.phases.running} (contract §10), "
            f"got {view.state}"
        )
