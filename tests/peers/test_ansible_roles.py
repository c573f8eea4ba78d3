"""The OSAC Ansible roles, replayed step by step against the embedded stack of each profile
the peer-parity table of docs/scenarios.md claims for them (contract §12.1, §14.1).

Each test names the peer commit and playbook it replays. The stacks provision in 8 s, as slow
as the delete-during-provision playbook needs (its provision job must still run 5 s after the
create) and slow enough that the cleanup role's 2 s polls see the deprovision job before the CR
goes, as on a cluster where AAP takes minutes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.contract.profiles import PROFILES
from harness.reference.gobuild import NotBuilt
from harness.reference.grpcurl import find_grpcurl
from harness.reference.stack import StackOptions, launch
from tests.peers import ansible_roles as roles
from tests.peers.playbook import Play

pytestmark = [pytest.mark.slow]
PROVISION_DELAY = 8.0


@pytest.fixture(scope="module")
def grpcurl_path() -> Path:
    """run-tests.sh builds it (`python -m harness build-grpcurl`); without it this fails."""
    try:
        return find_grpcurl()
    except NotBuilt as error:
        pytest.fail(str(error))


@pytest.fixture(scope="module")
def stack(tmp_path_factory, grpcurl_path) -> Iterator[Callable[[str, str], Play]]:
    """`stack(profile, provider)`: a Play against a running stack, started once per module."""
    running: dict[tuple[str, str], tuple[object, Play]] = {}

    def start(profile: str, provider: str) -> Play:
        if (profile, provider) not in running:
            state = tmp_path_factory.mktemp(f"peers-{profile}-{provider}")
            options = StackOptions(
                state_dir=state,
                profile=profile,
                provider=provider,
                provision_delay=PROVISION_DELAY,
            )
            background = launch(options)
            env = background.start()
            play = Play(
                kubeconfig=Path(env["KUBECONFIG"]),
                grpcurl_path=grpcurl_path,
                address=env["HARNESS_API_ADDRESS"],
                token=env["HARNESS_API_TOKEN"],
            )
            running[profile, provider] = (background, play)
        return running[profile, provider][1]

    yield start
    for background, _play in running.values():
        background.stop()  # type: ignore[attr-defined]


@pytest.mark.parametrize("provider", ["eda", "aap"])
def test_restart_negative_playbook_at_main_passes_on_cloudkit_jobs(stack, provider):
    """playbooks/test_compute_instance_restart_negative.yml at c0588da: the creation role (#1),
    the restart role (#3), its negative tests (#4), then the cleanup (#2), with the operator's
    jobs read as EDA's or AAP's."""
    profile = PROFILES["cloudkit-jobs"]
    play = stack(profile.name, provider)
    facts = roles.Facts(namespace=profile.hub_namespace)
    roles.creation(play, facts)
    assert facts.provision_job.startswith("eda-webhook-") == (provider == "eda")
    try:
        roles.restart(play, facts)
        roles.restart_negative(play, facts)
    finally:
        roles.delete_compute_instance(play, facts)


def test_restart_playbooks_of_early_february_pass_on_cloudkit(stack):
    """playbooks/test_compute_instance_restart_negative.yml at b7bf46b (2026-02-02): Create and
    List (#1), the restart role waiting for phase Ready (#3), the negative tests (#4). Its
    cleanup (#2 of that date) is not replayed as passing: it Lists right after the Delete,
    expecting the record archived at once (fulfillment-service before 0f491ab7, 02-10), while
    the reference API keeps it until the CR is gone; the CR is deleted all the same."""
    profile = PROFILES["cloudkit"]
    play = stack(profile.name, "reference")
    facts = roles.Facts(namespace=profile.hub_namespace)
    roles.creation(play, facts, roles.EARLY_FEBRUARY)
    try:
        roles.restart(play, facts, roles.EARLY_FEBRUARY)
        roles.restart_negative(play, facts)
    finally:
        roles.delete_with_the_cli(play, facts.uuid)
        play.until(
            "(harness) the CR is gone",
            f"kubectl get computeinstance -n {facts.namespace} "
            f"-l {profile.uuid_label}={facts.uuid} -o name",
            lambda r: r.rc == 0 and r.stdout == "",
            retries=60,
            delay=1,
        )


@pytest.mark.parametrize("provider", ["eda", "aap"])
def test_delete_during_provision_playbook_at_main_on_cloudkit_jobs(stack, provider):
    """playbooks/test_compute_instance_delete_during_provision.yml at c0588da (#5): every check
    passes (only a provision job before the delete; AAP: the provision job cancelled, one
    deprovision job; EDA: the provision job Unknown; the CR gone, the id unlisted, no VM left)
    but its own CR-deletion poll, which reads stderr after `2>&1` and so runs out of attempts
    under Ansible even though stdout shows the CR gone. Deleted 5 s into an 8 s provisioning,
    EDA has no `…-aap` finalizer to act on yet: it skips deprovisioning (36ae96c)."""
    profile = PROFILES["cloudkit-jobs"]
    play = stack(profile.name, provider)
    facts = roles.Facts(namespace=profile.hub_namespace)
    seen = roles.delete_during_provision(play, facts, profile.operator_namespace)
    assert seen.provider == provider
    if provider == "aap":
        assert seen.provision_after == "Canceled", seen
        assert seen.deprovision_job.isdigit(), seen
    else:
        # EDA deprovisions only once the create playbook has added its finalizer; 5 s into an
        # 8 s provisioning it has not, so the CR goes at once and no deprovision job appears.
        assert seen.provision_before in ("Running", "Unknown"), seen
        assert seen.deprovision_job.strip() == "", seen
    assert seen.cr_gone_by_stdout, seen
    assert "condition still false after 61 attempts" in seen.cr_deletion_poll_failed, seen


def test_api_fields_role_at_main_passes_on_osac(stack, tmp_path):
    """roles/test_compute_instance_api_fields at c0588da (#6): a CR applied with explicit VM
    fields as osac.openshift.io/v1alpha1, Running; Halted stops the VM, Always starts it;
    cores, memoryGiB and image refused as immutable. The role annotates the tenant
    `tenant-<namespace>`, which its installation has; the stack's is made so first."""
    profile = PROFILES["osac"]
    play = stack(profile.name, "reference")
    namespace = profile.hub_namespace
    tenant = f"tenant-{namespace}"
    play.shell(
        "environment: the tenant the role names",
        f"kubectl create -f - <<'EOF'\napiVersion: {profile.api_version}\nkind: Tenant\n"
        f"metadata: {{name: {tenant}, namespace: {namespace}}}\nspec: {{}}\nEOF\n"
        f"kubectl patch tenants.{profile.group} {tenant} -n {namespace} --subresource=status "
        '--type=merge -p \'{"status":{"phase":"Ready","namespace":"tenant-harness"}}\'',
    )
    roles.api_fields(play, namespace, "e2e-test-api-fields-peer", str(tmp_path))
