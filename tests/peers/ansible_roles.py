"""The OSAC Ansible end-to-end roles (osac-project/osac-test-infra), replayed task by task.

Each function is one role or playbook at the commit it names; the command texts are the roles'
own (names, labels, jsonpath and jq filters, grpcurl bodies), so they spell the era's names as
the peers do. Retries, delays and pauses are the roles' defaults. Where a step cannot run here,
the replacement is said at the step:

- `fulfillment-cli create computeinstance --template T` and `… delete computeinstance ID` are
  the public `Create` and `Delete` they call, sent with grpcurl (the CLI prints the new id in
  quotes; grpcurl's answer carries it);
- the token is the stack's (`oc create token fulfillment-admin …` mints the cluster's);
- the delete-during-provision playbook reads the operator Deployment in the test namespace,
  where the peers' installation runs it; the stack runs it in the profile's operator namespace.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from tests.peers.playbook import Play, Result, TaskFailed, assert_that

MAIN = "c0588da"  # osac-test-infra main, 2026-02-25
EARLY_FEBRUARY = "b7bf46b"  # 2026-02-02, the restart tests before #12 (8c4c34d)

TEMPLATE = "osac.templates.ocp_virt_vm"
PUBLIC = "fulfillment.v1.ComputeInstances"
RESTART_POLL = 10  # status_poll_interval of the restart role
READY_TIMEOUT = 900  # compute_instance_ready_timeout
RESTART_TIMEOUT = 300  # compute_instance_restart_timeout


@dataclass
class Facts:
    """The variables the roles register and pass on (`set_fact`, `register`)."""

    namespace: str  # test_namespace
    uuid: str = ""  # compute_instance_order_uuid
    name: str = ""  # ci_name_result.stdout / compute_instance_name
    provision_job: str = ""
    restart_requested_at: str = ""


def _latest_job(namespace: str, name: str, job_type: str, field: str) -> str:
    return (
        "set -o pipefail; "
        f"kubectl --as system:admin get computeinstance {name} -n {namespace} "
        "-o json 2>/dev/null | jq -r '.status.jobs // [] | "
        f'map(select(.type == "{job_type}")) | sort_by(.timestamp) | reverse | first | '
        f'.{field} // ""\''
    )


def _known_ids(play: Play) -> list[str]:
    listed = json.loads(play.grpcurl(f"{PUBLIC}/List"))
    return [str(item.get("id", "")).strip() for item in listed.get("items", [])]


def create_with_the_cli(play: Play) -> str:
    """`fulfillment-cli create computeinstance --template osac.templates.ocp_virt_vm`."""
    answer = json.loads(
        play.grpcurl(f"{PUBLIC}/Create", {"object": {"spec": {"template": TEMPLATE}}})
    )
    return str(answer["object"]["id"])


def delete_with_the_cli(play: Play, uuid: str) -> None:
    """`fulfillment-cli delete computeinstance <id>`."""
    play.grpcurl(f"{PUBLIC}/Delete", {"id": uuid})


def ci_name_by_uuid(play: Play, facts: Facts) -> str:
    return play.shell(
        "Get ComputeInstance name from Kubernetes",
        f"kubectl --as system:admin get computeinstance -n {facts.namespace} "
        f"-l cloudkit.openshift.io/computeinstance-uuid={facts.uuid} "
        "-o jsonpath='{.items[0].metadata.name}'",
    ).stdout


# --- test_compute_instance_creation ----------------------------------------------------------


def creation(play: Play, facts: Facts, commit: str = MAIN) -> None:
    """roles/test_compute_instance_creation/tasks/main.yml: Create, the id in List; at main
    also the provision job (its id, then Running and Succeeded unless an EDA id) and phase
    Running."""
    facts.uuid = create_with_the_cli(play)
    assert_that("Check if ComputeInstance appears in gRPC response", facts.uuid in _known_ids(play))
    if commit == EARLY_FEBRUARY:
        return
    facts.name = ci_name_by_uuid(play, facts)
    ns, name = facts.namespace, facts.name
    facts.provision_job = play.until(
        "Poll for provision job to appear",
        _latest_job(ns, name, "provision", "jobID"),
        lambda r: r.stdout != "",
        retries=30,
        delay=2,
    ).stdout
    if not facts.provision_job.startswith("eda-webhook"):
        play.until(
            "Poll for provision job to be Running",
            _latest_job(ns, name, "provision", "state"),
            lambda r: r.stdout in ("Running", "Succeeded"),
            retries=30,
            delay=2,
        )
        play.until(
            "Poll for provision job to succeed",
            _latest_job(ns, name, "provision", "state"),
            lambda r: r.stdout == "Succeeded",
            retries=60,
            delay=5,
        )
    phase = play.until(
        "Poll for ComputeInstance to reach Running state",
        f"kubectl --as system:admin get computeinstance {name} -n {ns} "
        "-o jsonpath='{.status.phase}' 2>/dev/null || echo \"\"",
        lambda r: r.stdout == "Running",
        retries=300,
        delay=2,
    )
    assert_that("Verify ComputeInstance is Running", phase.stdout == "Running")


def delete_compute_instance(play: Play, facts: Facts, commit: str = MAIN) -> None:
    """roles/test_compute_instance_creation/tasks/delete_compute_instance.yml: Delete; at main
    a deprovision job (Running or Succeeded unless an EDA id) and the CR gone; then the id gone
    from List."""
    delete_with_the_cli(play, facts.uuid)
    if commit != EARLY_FEBRUARY:
        ns, name = facts.namespace, facts.name
        job = play.until(
            "Poll for deprovision job to appear",
            _latest_job(ns, name, "deprovision", "jobID"),
            lambda r: r.stdout != "",
            retries=30,
            delay=2,
        ).stdout
        if not job.startswith("eda-webhook"):
            play.until(
                "Poll for deprovision job to be Running",
                _latest_job(ns, name, "deprovision", "state"),
                lambda r: r.stdout in ("Running", "Succeeded"),
                retries=30,
                delay=2,
            )
        play.until(
            "Poll for ComputeInstance CR to be deleted",
            f"kubectl --as system:admin get computeinstance {name} -n {ns} 2>&1",
            lambda r: "NotFound" in r.stdout or "not found" in r.stdout,
            retries=60,
            delay=3,
            failed_when=lambda _r: False,
        )
    assert_that("Check if ComputeInstance was deleted", facts.uuid not in _known_ids(play))


# --- test_compute_instance_restart -----------------------------------------------------------


def restart(play: Play, facts: Facts, commit: str = MAIN) -> None:
    """roles/test_compute_instance_restart/tasks/main.yml: phase Running (Ready before 8c4c34d),
    the VMI's creationTimestamp by label, a grpcurl Update with the template and the mask on
    restart_requested_at dated `date -u`, then lastRestartedAt set, changed and >= the request,
    a VMI timestamp later than the old one, and RestartFailed "" or "False"."""
    ns = facts.namespace
    running = "Ready" if commit == EARLY_FEBRUARY else "Running"
    play.until(
        f"Wait for ComputeInstance to reach {running} phase",
        f"kubectl --as system:admin get computeinstance -n {ns} "
        f"-l cloudkit.openshift.io/computeinstance-uuid={facts.uuid} "
        "-o jsonpath='{.items[0].status.phase}'",
        lambda r: r.stdout == running,
        retries=READY_TIMEOUT // RESTART_POLL,
        delay=RESTART_POLL,
    )
    facts.name = name = ci_name_by_uuid(play, facts)
    vmi_namespace = play.shell(
        "Get VirtualMachineInstance details before restart",
        f"kubectl --as system:admin get computeinstance {name} -n {ns} "
        "-o jsonpath='{.status.virtualMachineReference.namespace}'",
    ).stdout
    vmi_timestamp = (
        f"kubectl --as system:admin get virtualmachineinstance -n {vmi_namespace} "
        f"-l cloudkit.openshift.io/computeinstance={name} "
        "-o jsonpath='{.items[0].metadata.creationTimestamp}'"
    )
    original_vmi = play.shell("Get original VMI creation timestamp", vmi_timestamp).stdout
    last_restarted = (
        f"kubectl --as system:admin get computeinstance {name} -n {ns} "
        "-o jsonpath='{.status.lastRestartedAt}'"
    )
    initial = play.shell("Get initial lastRestartedAt value before restart", last_restarted)
    body = (
        '{"object": {"id": "' + facts.uuid + '", "spec": {"template": "' + TEMPLATE + '", '
        '"restart_requested_at": "\'"${TIMESTAMP}"\'"}}, '
        '"updateMask": {"paths": ["spec.restart_requested_at"]}}'
    )
    trigger = play.shell(
        "Trigger restart via gRPC API (update restartRequestedAt)",
        'TIMESTAMP=$(date -u +"%Y-%m-%dT%H:%M:%SZ")\n'
        'echo "$TIMESTAMP"\n'
        f'grpcurl -insecure -H "Authorization: Bearer {play.token}" '
        f"-d '{body}' {play.address} {PUBLIC}/Update",
    )
    facts.restart_requested_at = requested = trigger.stdout_lines[0]

    def updated(r: Result) -> bool:
        return r.stdout != "" and r.stdout != initial.stdout and r.stdout >= requested

    check = play.until(
        "Wait for status.lastRestartedAt to be updated",
        last_restarted,
        updated,
        retries=RESTART_TIMEOUT // RESTART_POLL,
        delay=RESTART_POLL,
    )
    assert_that("Verify lastRestartedAt was updated correctly", updated(check))
    new_vmi = play.until(
        "Wait for new VMI to be created",
        vmi_timestamp,
        lambda r: r.stdout != original_vmi,
        retries=RESTART_TIMEOUT // RESTART_POLL,
        delay=RESTART_POLL,
    )
    assert_that("Verify new VMI timestamp is after original", new_vmi.stdout > original_vmi)
    failed = play.shell(
        "Check for RestartFailed condition",
        f"kubectl --as system:admin get computeinstance {name} -n {ns} "
        "-o jsonpath='{.status.conditions[?(@.type==\"RestartFailed\")].status}'",
    )
    assert_that("Assert RestartFailed condition is not set", failed.stdout in ("", "False"))


def restart_negative(play: Play, facts: Facts) -> None:
    """roles/test_compute_instance_restart/tasks/negative_tests.yml: an Update dated
    2020-01-01T00:00:00Z, a 15 s pause, lastRestartedAt unchanged."""
    last_restarted = (
        f"kubectl --as system:admin get computeinstance {facts.name} -n {facts.namespace} "
        "-o jsonpath='{.status.lastRestartedAt}'"
    )
    saved = play.shell("Get current lastRestartedAt value", last_restarted).stdout
    play.grpcurl(
        f"{PUBLIC}/Update",
        {
            "object": {
                "id": facts.uuid,
                "spec": {"template": TEMPLATE, "restart_requested_at": "2020-01-01T00:00:00Z"},
            },
            "updateMask": {"paths": ["spec.restart_requested_at"]},
        },
    )
    play.pause(15)
    after = play.shell("Verify lastRestartedAt unchanged", last_restarted).stdout
    assert_that("Assert lastRestartedAt was not updated", after == saved)


# --- playbooks/test_compute_instance_delete_during_provision.yml ----------------------------


@dataclass
class DeleteDuringProvision:
    provider: str = ""
    provision_before: str = ""
    provision_after: str = ""
    deprovision_job: str = ""
    cr_gone_by_stdout: bool = False
    cr_deletion_poll_failed: str = ""


def delete_during_provision(
    play: Play, facts: Facts, operator_namespace: str
) -> DeleteDuringProvision:
    """The playbook at main: create, a 5 s pause, the provider from the operator Deployment,
    only a provision job before the delete; after it, AAP: the provision job terminal and one
    deprovision job Pending or Running; EDA: the provision job Unknown; then the CR gone, the
    id unlisted and no VM labelled for the CR anywhere.

    Its CR-deletion poll looks for "NotFound" in stderr after `2>&1` has sent it to stdout, so
    under Ansible it can only run out of attempts: the outcome records that, and whether
    stdout showed the CR gone, and the playbook's later steps run as if it had passed."""
    seen = DeleteDuringProvision()
    ns = facts.namespace
    facts.uuid = create_with_the_cli(play)
    play.pause(5)
    facts.name = name = ci_name_by_uuid(play, facts)
    detected = play.shell(
        "Detect current provider (AAP or EDA)",
        "kubectl --as system:admin get deployment/cloudkit-operator-controller-manager "
        f"-n {operator_namespace} -o jsonpath='{{.spec.template.spec.containers[0].env"
        '[?(@.name=="CLOUDKIT_PROVISIONING_PROVIDER")].value}\'',
    )
    seen.provider = provider = detected.stdout  # `default('aap')` applies to undefined only
    jobs = (
        f"set -o pipefail; kubectl --as system:admin get computeinstance {name} -n {ns} "
        "-o json | jq -r '"
        '(.status.jobs // [] | map(select(.type == "provision")) | sort_by(.timestamp) | '
        'reverse | first | .jobID // ""), '
        '(.status.jobs // [] | map(select(.type == "provision")) | sort_by(.timestamp) | '
        'reverse | first | .state // ""), '
        '(.status.jobs // [] | map(select(.type == "deprovision")) | sort_by(.timestamp) | '
        'reverse | first | .jobID // ""), '
        '(.status.jobs // [] | map(select(.type == "deprovision")) | sort_by(.timestamp) | '
        'reverse | first | .state // ""), (.status.phase // "")\' | paste -sd \',\' -'
    )
    before = play.shell("Check provision job status before deletion", jobs).stdout.split(",")
    seen.provision_before = before[1]
    assert_that(
        "Verify only provision job is running (no deprovision)",
        before[0] != "",
        before[1] in ("Running", "Pending", "Unknown"),
        before[2] == "",
        before[3] == "",
        why=f"{before}",
    )
    delete_with_the_cli(play, facts.uuid)
    exists = play.shell(
        "Check if CR still exists",
        f"kubectl --as system:admin get computeinstance {name} -n {ns} 2>&1",
        failed_when=lambda _r: False,
    )
    still = "NotFound" not in exists.stderr and "not found" not in exists.stderr
    if provider == "aap" and still:
        play.until(
            "[AAP] Wait for provision job to terminate",
            f'{_latest_job(ns, name, "provision", "state")} || echo "CR_DELETED"',
            lambda r: r.stdout in ("Canceled", "Failed", "Succeeded", "CR_DELETED", ""),
            retries=60,
            delay=1,
        )
    after = play.shell(
        "Get provision job details after deletion",
        f"set -o pipefail; kubectl --as system:admin get computeinstance {name} -n {ns} "
        "-o json 2>/dev/null | jq -r '"
        '(.status.jobs // [] | map(select(.type == "provision")) | sort_by(.timestamp) | '
        'reverse | first | .jobID // ""), '
        '(.status.jobs // [] | map(select(.type == "provision")) | sort_by(.timestamp) | '
        'reverse | first | .state // "")\' | paste -sd \',\' - || echo ","',
    ).stdout.split(",")
    seen.provision_after = after[1] if still else "CR_DELETED"
    if provider == "aap":
        assert_that(
            "[AAP] Verify provision job terminated",
            seen.provision_after in ("Canceled", "Failed", "Succeeded", "CR_DELETED", ""),
            why=seen.provision_after,
        )
    if provider == "eda":
        assert_that(
            "[EDA] Verify provision job state is Unknown or CR deleted",
            seen.provision_after in ("Unknown", "CR_DELETED", ""),
            why=seen.provision_after,
        )
    deprovision = (
        f"set -o pipefail; kubectl --as system:admin get computeinstance {name} -n {ns} "
        "-o json 2>/dev/null | jq -r '"
        '(.status.jobs // [] | map(select(.type == "deprovision")) | sort_by(.timestamp) | '
        'reverse | first | .jobID // ""), '
        '(.status.jobs // [] | map(select(.type == "deprovision")) | sort_by(.timestamp) | '
        'reverse | first | .state // "")\' | paste -sd \',\' - || echo ","'
    )
    if provider == "aap":
        polled = play.until(
            "[AAP] Poll for deprovision job to start (after provision cancellation)",
            deprovision,
            lambda r: (
                r.stdout.split(",")[0] != "" and r.stdout.split(",")[1] in ("Pending", "Running")
            ),
            retries=60,
            delay=1,
        ).stdout.split(",")
        seen.deprovision_job = polled[0]
        assert_that(
            "[AAP] Verify deprovision job started",
            polled[0] != "",
            polled[1] in ("Pending", "Running"),
        )
        again = play.until(
            "[AAP] Poll to ensure single deprovision job (no duplicates)",
            _latest_job(ns, name, "deprovision", "jobID"),
            lambda r: r.rc == 0,  # `retries` without `until`: until the task succeeds
            retries=10,
            delay=1,
        )
        assert_that(
            "[AAP] Verify deprovision job ID remained consistent (no duplicates)",
            again.stdout == seen.deprovision_job,
        )
    elif provider == "eda":
        seen.deprovision_job = play.shell(
            "[EDA] Get deprovision job (should already exist)", deprovision
        ).stdout.split(",")[0]
    gone = f"kubectl --as system:admin get computeinstance {name} -n {ns} 2>&1"
    try:
        play.until(
            "Poll for ComputeInstance CR deletion",
            gone,
            lambda r: "NotFound" in r.stderr or "not found" in r.stderr,
            retries=60,
            delay=1,
            failed_when=lambda _r: False,
        )
    except TaskFailed as failure:
        seen.cr_deletion_poll_failed = str(failure)
    final = play.shell("CR deletion, as stdout shows it", gone, failed_when=lambda _r: False)
    seen.cr_gone_by_stdout = "NotFound" in final.stdout or "not found" in final.stdout
    assert_that("Check if ComputeInstance was deleted", facts.uuid not in _known_ids(play))
    orphans = play.shell(
        "Check for orphaned VMs in all tenant namespaces",
        "set -o pipefail; kubectl --as system:admin get virtualmachine -A "
        f"-l cloudkit.openshift.io/computeinstance={name} --no-headers 2>/dev/null | wc -l",
    )
    assert_that("Assert no orphaned VMs", int(orphans.stdout) == 0)
    return seen


# --- test_compute_instance_api_fields (MGMT-23103) -------------------------------------------

API_FIELDS_MANIFEST = """apiVersion: osac.openshift.io/v1alpha1
kind: ComputeInstance
metadata:
  name: {name}
  namespace: {namespace}
  annotations:
    osac.openshift.io/tenant: tenant-{namespace}
spec:
  templateID: osac.templates.ocp_virt_vm
  image:
    sourceType: registry
    sourceRef: quay.io/containerdisks/fedora:latest
  cores: 2
  memoryGiB: 4
  bootDisk:
    sizeGiB: 20
  runStrategy: Always
"""


def api_fields(play: Play, namespace: str, name: str, manifest_dir: str) -> None:
    """roles/test_compute_instance_api_fields/tasks/main.yml (added at main, c0588da): a CR
    applied with explicit fields, its provision job, phase Running; runStrategy Halted stops
    the VM, Always starts it; cores, memoryGiB and image refused as immutable; deleted."""
    status_poll, vm_timeout, provision_timeout = 10, 120, 600
    manifest = f"{manifest_dir}/computeinstance.yml"
    with open(manifest, "w") as out:
        out.write(API_FIELDS_MANIFEST.format(name=name, namespace=namespace))
    play.shell(
        "Create ComputeInstance using explicit API fields",
        f"kubectl --as system:admin apply -f {manifest}",
    )
    ci = f"kubectl --as system:admin get computeinstance.osac.openshift.io {name} -n {namespace}"
    latest = (
        f"set -o pipefail; {ci} -o json 2>/dev/null | jq -r '.status.jobs // [] | "
        'map(select(.type == "provision")) | sort_by(.timestamp) | reverse | first | .{} // ""\''
    )
    job = play.until(
        "Wait for provision job to appear",
        latest.format("jobID"),
        lambda r: r.stdout != "",
        retries=30,
        delay=2,
    ).stdout
    if not job.startswith("eda-webhook"):
        play.until(
            "Wait for provision job to succeed",
            latest.format("state"),
            lambda r: r.stdout == "Succeeded",
            retries=provision_timeout // status_poll,
            delay=status_poll,
        )
    play.until(
        "Wait for ComputeInstance to reach Running phase",
        f"{ci} -o jsonpath='{{.status.phase}}' 2>/dev/null || echo \"\"",
        lambda r: r.stdout == "Running",
        retries=provision_timeout // status_poll,
        delay=status_poll,
    )
    vm_namespace = play.shell(
        "Get VirtualMachine namespace",
        f"{ci} -o jsonpath='{{.status.virtualMachineReference.namespace}}'",
    ).stdout
    vm = f"kubectl --as system:admin get virtualmachine {name} -n {vm_namespace}"
    patch = (
        f"kubectl --as system:admin patch computeinstance.osac.openshift.io {name} "
        f"-n {namespace} --type=merge -p "
    )
    for strategy, printable in (("Halted", "Stopped"), ("Always", "Running")):
        play.shell(
            f"Patch runStrategy to {strategy}",
            patch + f'\'{{"spec":{{"runStrategy":"{strategy}"}}}}\'',
        )
        status = play.until(
            f"Wait for VirtualMachine to be {printable}",
            f"{vm} -o jsonpath='{{.status.printableStatus}}'",
            lambda r, wanted=printable: r.stdout == wanted,
            retries=vm_timeout // status_poll,
            delay=status_poll,
        )
        spec = play.shell(
            "Verify VirtualMachine spec.runStrategy", f"{vm} -o jsonpath='{{.spec.runStrategy}}'"
        )
        assert_that(
            f"Assert VM is {printable}", spec.stdout == strategy, status.stdout == printable
        )
    for field, body in (
        ("cores", '{"spec":{"cores":8}}'),
        ("memoryGiB", '{"spec":{"memoryGiB":16}}'),
        ("image", '{"spec":{"image":{"sourceRef":"quay.io/fedora/fedora:latest"}}}'),
    ):
        refused = play.shell(
            f"Attempt to patch {field} field", patch + f"'{body}'", failed_when=lambda _r: False
        )
        assert_that(
            f"Verify {field} patch was rejected",
            refused.rc != 0,
            f"{field} is immutable" in refused.stderr,
            why=refused.stderr,
        )
    play.shell(
        "Cleanup - Delete test ComputeInstance",
        f"kubectl --as system:admin delete computeinstance.osac.openshift.io {name} -n {namespace}",
        failed_when=lambda _r: False,
    )
    play.until(
        "Wait for ComputeInstance to be deleted",
        f"{ci} 2>&1",
        lambda r: "NotFound" in r.stderr or r.rc != 0,
        retries=60,
        delay=5,
        failed_when=lambda _r: False,
    )
