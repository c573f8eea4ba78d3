"""Every contract expectation on recorded histories: it passes a correct one and fails a broken
one with a message that names its clause."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from harness.clients.drivers import Rejection
from harness.contract.profiles import CLOUDKIT, OSAC
from harness.testkit import expectations as expect
from tests.eras import EVERY_PROFILE
from tests.harness.recorded import TENANT, ApiAnswers, Recorded, at, failed, in_progress

OLD, NEW, OTHER = "old-uid", "new-uid", "other-uid"


def running() -> Recorded:
    """A provisioned instance: CR, VM, one Running VMI created at second 0."""
    return Recorded().cr_state().vm().vmi(OLD)


def raises(fragment: str):
    return pytest.raises(AssertionError, match=fragment)


# --- conditions ---------------------------------------------------------------------------


@pytest.mark.parametrize("profile", EVERY_PROFILE)
def test_condition_expectations_carry_the_contracts_words(profile):
    words = profile.restart
    initiated = expect.restart_initiated(profile, at(5))
    assert (initiated.type, initiated.reason) == ("RestartInProgress", words.reason_in_progress)
    assert initiated.message == f"Restart initiated at {at(5)}"
    waiting = expect.restart_waiting_for_vmi(profile, at(5))
    assert waiting.message == f"Waiting for VMI to be created (restart requested at {at(5)})"
    no_vm = expect.restart_failed_no_vm_reference(profile)
    assert (no_vm.reason, no_vm.message) == ("NoVMReference", "No VirtualMachine reference found")
    refused = expect.restart_failed_vmi_deletion(profile, "forbidden")
    assert refused.message_prefix == "Failed to delete VMI: "
    assert [e.clause for e in (no_vm, waiting, refused, initiated)] == [
        "§7.3 row 1",
        "§7.3 row 2",
        "§7.3 row 4",
        "§7.3 row 5",
    ]


def test_a_condition_is_judged_word_by_word():
    expected = expect.restart_initiated(OSAC, at(5))
    good = in_progress(OSAC, at(5))
    assert expect.assert_condition(good, expected) == good
    with raises(r"RestartInProgress is absent \(contract §7\.3 row 5"):
        expect.assert_condition(None, expected)
    with raises("status was 'False', expected 'True'"):
        expect.assert_condition({**good, "status": "False"}, expected)
    with raises("reason was 'Busy', expected 'RestartInProgress'"):
        expect.assert_condition({**good, "reason": "Busy"}, expected)
    with raises("message was 'Restart initiated at now'"):
        expect.assert_condition({**good, "message": "Restart initiated at now"}, expected)


def test_a_refused_deletion_message_needs_its_prefix_and_the_servers_words():
    expected = expect.restart_failed_vmi_deletion(OSAC, "forbidden")
    words = "Failed to delete VMI: virtualmachineinstances.kubevirt.io is forbidden"
    expect.assert_condition(failed(OSAC, "VMIDeletionFailed", words), expected)
    with raises("expected it to start with 'Failed to delete VMI: '"):
        expect.assert_condition(failed(OSAC, "VMIDeletionFailed", "forbidden"), expected)
    with raises("expected it to carry 'forbidden'"):
        expect.assert_condition(
            failed(OSAC, "VMIDeletionFailed", "Failed to delete VMI: timeout"), expected
        )


def test_restart_conditions_must_be_removed_not_set_false():
    history = running().cr_state(status={"lastRestartedAt": at(5)})
    expect.assert_restart_conditions_removed(history, history.cr_observation())
    history.conditions(in_progress(OSAC, at(5), status="False"))
    with raises(r"RestartInProgress should be removed when the restart completes \(contract §7\.4"):
        expect.assert_restart_conditions_removed(history, history.cr_observation())


# --- provisioning -------------------------------------------------------------------------


def test_the_cr_must_carry_its_id_tenant_and_finalizer():
    expect.assert_cr_identifies_its_instance(running())
    with raises(r"should carry label osac\.openshift\.io/computeinstance-uuid=id-1 \(contract §6"):
        expect.assert_cr_identifies_its_instance(running().cr_state(metadata={"labels": {}}))
    with raises("lacks annotation osac.openshift.io/tenant"):
        expect.assert_cr_identifies_its_instance(running().cr_state(metadata={"annotations": {}}))
    with raises(r"finalizer osac\.openshift\.io/computeinstance \(contract §7\.1 step 1"):
        expect.assert_cr_identifies_its_instance(running().cr_state(metadata={"finalizers": []}))
    with raises("the CR vanished"):
        expect.assert_cr_identifies_its_instance(running().cr_deleted())


def test_the_vm_must_be_labelled_for_its_cr():
    expect.assert_vm_labelled_for_its_cr(running())
    with raises(r"should carry label osac\.openshift\.io/computeinstance=vm-a \(contract §6"):
        expect.assert_vm_labelled_for_its_cr(Recorded().cr_state().vm(labels={}).vmi(OLD))
    with raises(f"no VirtualMachine {TENANT}/vm-a seen"):
        expect.assert_vm_labelled_for_its_cr(Recorded().cr_state())


def test_the_spec_must_be_what_was_asked():
    asked = {
        "cores": 2,
        "memoryGiB": 4,
        "bootDisk": {"sizeGiB": 20},
        "image": {"sourceType": "registry", "sourceRef": "quay.io/containerdisks/fedora:latest"},
        "runStrategy": "Always",
    }
    history = running().cr_state(spec=asked)
    expect.assert_spec_as_asked(history)
    history.cr_state(spec={"cores": 8})
    with raises(r"'cores': 8.*differs from what was asked.*'cores': 2"):
        expect.assert_spec_as_asked(history)
    cloudkit = Recorded(CLOUDKIT).cr_state(spec={"cores": 8})  # no explicit fields there
    expect.assert_spec_as_asked(cloudkit)


def test_the_api_must_list_the_instance_in_the_running_state():
    history = running()
    expect.assert_api_shows_running(history)  # --via cr: nothing to ask
    state = OSAC.state_for_phase(OSAC.phases.running)
    history.api = ApiAnswers(view=SimpleNamespace(id="id-1", state=state), listed=True)
    expect.assert_api_shows_running(history)
    history.api = ApiAnswers(view=SimpleNamespace(id="id-1", state="X"), listed=True)
    with raises(r"API state should mirror phase Running \(contract §10\), got X"):
        expect.assert_api_shows_running(history)
    history.api = ApiAnswers(view=None, listed=False)
    with raises("API List does not show id-1"):
        expect.assert_api_shows_running(history)
    with raises(r"still lists the deleted instance id-1 \(contract §9\.2"):
        expect.assert_api_does_not_list(SimpleNamespace(api_lists_it=lambda: True, id="id-1"))
    expect.assert_api_does_not_list(SimpleNamespace(api_lists_it=lambda: None, id="id-1"))


# --- restarts -----------------------------------------------------------------------------


def clean(created=6):
    history = running()
    request = history.clean_restart(at(5), OLD, NEW, at(created))
    return history, result_of(history, request)


def result_of(history, request):
    from harness.testkit.history import RestartResult

    return RestartResult(request, history.cr_observation(), history.running_vmi())


def test_a_clean_restart_passes():
    history, result = clean()
    expect.assert_clean_restart(history, result)
    assert result.last_restarted_at == at(5) and result.conditions == {}


def test_a_restart_that_never_deleted_the_old_vmi_fails():
    history = running()
    request = history.request(at(5))
    history.conditions(in_progress(OSAC, at(5)))
    history.vmi(NEW, created=at(6), event="ADDED")  # the old VMI's deletion never recorded
    history.cr_state(status={"lastRestartedAt": at(5), "conditions": []})
    with raises(r"uid old-uid\) was never deleted \(contract §7\.3\)"):
        expect.assert_clean_restart(history, result_of(history, request))


def test_a_replacement_not_created_after_the_request_fails():
    history, result = clean(created=5)
    with raises(r"created at .*:05Z, not strictly after the request .*:05Z \(contract §7\.4\)"):
        expect.assert_clean_restart(history, result)


def test_a_second_new_vmi_for_one_request_fails():
    history = running()
    request = history.request(at(5))
    history.conditions(in_progress(OSAC, at(5)))
    history.delete_vmi(OLD).vmi(OTHER, created=at(6), event="ADDED").delete_vmi(OTHER)
    history.vmi(NEW, created=at(7), event="ADDED")
    history.cr_state(status={"lastRestartedAt": at(5), "conditions": []})
    with raises(r"exactly one new VMI .* \(contract §7\.2 step 2"):
        expect.assert_clean_restart(history, result_of(history, request))


def test_a_restart_without_restart_in_progress_or_with_other_words_fails():
    history = running()
    request = history.request(at(5))
    history.delete_vmi(OLD).vmi(NEW, created=at(6), event="ADDED")
    history.cr_state(status={"lastRestartedAt": at(5)})
    with raises(r"RestartInProgress never became True .* \(contract §7\.3\)"):
        expect.assert_clean_restart(history, result_of(history, request))

    history = running()
    request = history.request(at(5))
    history.conditions({**in_progress(OSAC, at(5)), "message": "restarting"})
    history.delete_vmi(OLD).vmi(NEW, created=at(6), event="ADDED")
    history.cr_state(status={"lastRestartedAt": at(5), "conditions": []})
    with raises(r"message was 'restarting'.*\(contract §7\.3 row 5"):
        expect.assert_clean_restart(history, result_of(history, request))


def test_a_restart_that_records_another_time_or_keeps_its_condition_fails():
    history, result = clean()
    history.cr_state(status={"lastRestartedAt": at(6)})
    with raises(r"lastRestartedAt was .*:06Z, expected the requested .*:05Z \(contract §7\.4"):
        expect.assert_clean_restart(history, result_of(history, result.request))
    history, result = clean()
    history.conditions(in_progress(OSAC, at(5), status="False"))
    with raises("RestartInProgress should be removed"):
        expect.assert_clean_restart(history, result_of(history, result.request))


def test_restart_failed_must_never_appear_where_the_contract_has_no_failure():
    history, _ = clean()
    expect.assert_restart_failed_never_seen(history)
    history.conditions(failed(OSAC, "NoVMReference", "No VirtualMachine reference found"))
    with raises(r"RestartFailed appeared where the contract has no failure.*\(contract §7\.3\)"):
        expect.assert_restart_failed_never_seen(history)


def test_last_restarted_at_takes_exactly_the_requests_in_order():
    history, _ = clean()
    expect.assert_last_restarted_history(history, [at(5)])
    with raises(r"took the values .*:05Z'\], expected .*:09Z'\] \(contract §7\.4"):
        expect.assert_last_restarted_history(history, [at(9)])
    history.cr_state(status={"lastRestartedAt": at(3)})
    with raises(r"went backwards or repeated.*\(contract §7\.2"):
        expect.assert_last_restarted_history(history, [at(5), at(3)])
    expect.assert_last_restarted_at(history, at(3), "why")
    with raises(r"lastRestartedAt is .*:03Z, expected .*:05Z \(why\)"):
        expect.assert_last_restarted_at(history, at(5), "why")


def test_the_api_must_report_the_same_last_restarted_at():
    history = running()
    expect.assert_api_reports(history, at(5))  # --via cr
    history.api = ApiAnswers(view=SimpleNamespace(last_restarted_at=at(5)))
    expect.assert_api_reports(history, at(5))
    with raises(r"API last_restarted_at was .*:05Z, expected .*:06Z \(contract §10\)"):
        expect.assert_api_reports(history, at(6))


def test_one_replacement_and_at_most_one_deletion():
    history = running()
    request = history.request(at(9))
    history.delete_vmi(OLD).vmi(NEW, created=at(6), event="ADDED")
    expect.assert_one_replacement(history, request, history.running_vmi())
    expect.assert_at_most_one_deletion(history, request)
    history.delete_vmi(NEW).vmi(OTHER, created=at(7), event="ADDED")
    with raises(r"2 replacement VMIs appeared .* \(contract §7\.2 step 2"):
        expect.assert_one_replacement(history, request, history.running_vmi())
    with raises(r"at most one deletion.*\(contract §7\.2 step 2\)"):
        expect.assert_at_most_one_deletion(history, request)


def test_a_vmi_that_must_still_run():
    history = running()
    expect.assert_running_vmi(history, OLD, "because")
    history.delete_vmi(OLD)
    with raises(r"VMI uid old-uid… should still run \(because\)"):
        expect.assert_running_vmi(history, OLD, "because")


def test_the_future_scenarios_premise_a_replacement_older_than_the_request():
    history = running()
    request = history.request(at(9))
    history.vmi(NEW, created=at(6), event="ADDED")
    expect.assert_created_before(history.running_vmi(), request)
    late = running()
    late_request = late.request(at(5))
    late.vmi(NEW, created=at(6), event="ADDED")
    with raises("restarts slower than the future offset"):
        expect.assert_created_before(late.running_vmi(), late_request)


@pytest.mark.parametrize(
    ("sign", "fragment"),
    [
        (lambda h: h.delete_vmi(OLD), "VMI uid old-uid… was deleted"),
        (lambda h: h.vmi(NEW, created=at(6), event="ADDED"), "a new VMI uid new-uid… appeared"),
        (lambda h: h.cr_state(status={"lastRestartedAt": at(5)}), "lastRestartedAt changed"),
        (lambda h: h.conditions(in_progress(OSAC, at(5))), "RestartInProgress became True"),
    ],
    ids=["deleted", "new-vmi", "last-restarted", "in-progress"],
)
def test_any_sign_of_a_restart_breaks_a_quiet_window(sign, fragment):
    history = running()
    request = history.request(at(5))
    expect.assert_no_restart(history, since=request, clause="the clause")  # quiet: passes
    sign(history)
    with raises(f"the clause: the request .* should have changed nothing, but {fragment}"):
        expect.assert_no_restart(history, since=request, clause="the clause", window=5.0)


def deleting_during_a_restart():
    history = running()
    request = history.request(at(30))
    history.conditions(in_progress(OSAC, at(30)))
    condition = history.status()["conditions"][0]  # as written, observedGeneration included
    seq = history.last_seq()
    history.cr_state(metadata={"deletionTimestamp": at(40)})
    return history, request, condition, seq


def test_the_delete_path_leaves_the_restart_alone():
    history, request, condition, seq = deleting_during_a_restart()
    expect.assert_delete_path_left_the_restart_alone(history, request, condition, seq)
    history.cr_state(status={"conditions": []})
    with raises(r"must leave RestartInProgress as it was, every field of it \(contract §7\.6"):
        expect.assert_delete_path_left_the_restart_alone(history, request, condition, seq)

    history, request, condition, seq = deleting_during_a_restart()
    history.conditions({**condition, "observedGeneration": condition["observedGeneration"] + 1})
    with raises("must leave RestartInProgress as it was"):
        expect.assert_delete_path_left_the_restart_alone(history, request, condition, seq)

    history, request, condition, seq = deleting_during_a_restart()
    history.cr_state(status={"lastRestartedAt": at(30)})
    with raises(r"a restart completed on a CR being deleted.*\(contract §7\.6 row 9"):
        expect.assert_delete_path_left_the_restart_alone(history, request, condition, seq)


# --- refused changes ----------------------------------------------------------------------


def test_a_change_must_be_refused_with_the_right_code_and_words():
    cr_refusal = Rejection("422", 'spec.cores: Invalid value: "integer": cores is immutable')
    assert expect.assert_refused(cr_refusal, "cr", "§3", mentions="cores is immutable")
    api_refusal = Rejection("INVALID_ARGUMENT", "cores is immutable")
    expect.assert_refused(api_refusal, "api", "§3", mentions="cores is immutable")
    expect.assert_refused(api_refusal, "api", "§3")
    with raises(r"the change was accepted \(§3: it must be refused\)"):
        expect.assert_refused(None, "cr", "§3")
    with raises(r"refused with 422, expected INVALID_ARGUMENT \(§3\)"):
        expect.assert_refused(cr_refusal, "api", "§3")
    with raises(r"should say 'memoryGiB is immutable' \(§3\)"):
        expect.assert_refused(cr_refusal, "cr", "§3", mentions="memoryGiB is immutable")


def test_spec_values_that_must_not_change():
    history = running()
    before = dict(history.cr()["spec"])
    expect.assert_spec_unchanged(history, before, "why")
    expect.assert_restart_requested_at(history, None, "why")
    history.cr_state(spec={"restartRequestedAt": at(5)})
    with raises(r"the CR spec changed from .* \(why\)"):
        expect.assert_spec_unchanged(history, before, "why")
    with raises(r"restartRequestedAt is .*:05Z, expected None \(why\)"):
        expect.assert_restart_requested_at(history, None, "why")


def test_the_run_strategy_must_reach_the_vm():
    history = running()
    expect.assert_vm_run_strategy(history, "Always")
    with raises(r"runStrategy is 'Always', expected 'Halted' \(contract §3"):
        expect.assert_vm_run_strategy(history, "Halted")
