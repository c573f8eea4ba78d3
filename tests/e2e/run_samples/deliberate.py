"""Deliberately misbehaving tests for tests/e2e/test_run_command.py.

Not collected by default (the file name does not match test_*.py); the e2e tests name it.
"""

from harness.clients.fulfillment_api import InstanceSpec


def test_leaves_an_instance_behind(harness_context, run_ledger, request):
    """Creates an instance, labelled like every instance of the run, that no fixture deletes:
    the harness bug the leak sweep exists to catch."""
    labels = run_ledger.labels_for(request.node.nodeid)
    harness_context.driver.create(InstanceSpec(), None, labels)


def test_fails_with_an_instance(compute_instance):
    compute_instance(wait="cr")
    raise AssertionError("deliberately failing, so --keep-on-failure keeps its instance")


def test_passes_with_an_instance(compute_instance):
    compute_instance(wait="cr")
