"""A test's cleanup deletes what it created, also when the create's answer never came back."""

from __future__ import annotations

from harness.clients.fulfillment_api import InstanceSpec
from harness.config import load_settings
from harness.plugin.cleanup import begin_cleanup
from harness.testkit.instance import ComputeInstanceUnderTest, HarnessContext

LABELS = {"example.org/run": "r1", "example.org/test": "t1"}


class RecordingKube:
    def __init__(self, names):
        self.names = names
        self.calls = []

    def list(self, resource, namespace, label_selector=None, field_selector=None):
        self.calls.append(("list", namespace, label_selector))
        return [{"metadata": {"name": name}} for name in self.names], "7"

    def delete(self, resource, namespace, name):
        self.calls.append(("delete", namespace, name))
        return True


class RecordingDriver:
    mode = "api"

    def __init__(self):
        self.deleted = []

    def delete(self, instance_id, cr_name):
        self.deleted.append(instance_id)


def instance_with(kube, driver):
    settings = load_settings({"--target": "embedded"}, {})
    context = HarnessContext(settings=settings, kube=kube, api=None, driver=driver)
    return ComputeInstanceUnderTest(context, InstanceSpec(), labels=LABELS)


def test_an_instance_with_an_id_is_deleted_through_its_driver():
    kube, driver = RecordingKube([]), RecordingDriver()
    instance = instance_with(kube, driver)
    instance.create_sent, instance.id = True, "id-1"
    assert begin_cleanup(instance) is None
    assert driver.deleted == ["id-1"] and kube.calls == []


def test_a_create_interrupted_before_its_answer_is_cleaned_up_by_its_labels():
    """A SIGTERM inside the create call: the CR exists, its id never reached the harness."""
    kube, driver = RecordingKube(["vm-abcde"]), RecordingDriver()
    instance = instance_with(kube, driver)
    instance.create_sent = True
    assert begin_cleanup(instance) is None
    namespace = instance.context.settings.namespace
    selector = "example.org/run=r1,example.org/test=t1"
    assert kube.calls == [("list", namespace, selector), ("delete", namespace, "vm-abcde")]
    assert driver.deleted == []


def test_nothing_is_deleted_when_nothing_was_sent_or_objects_are_kept():
    kube, driver = RecordingKube(["vm-abcde"]), RecordingDriver()
    instance = instance_with(kube, driver)
    assert begin_cleanup(instance) is None
    instance.create_sent, instance.id = True, "id-1"
    assert begin_cleanup(instance, delete=False) is None
    assert kube.calls == [] and driver.deleted == []
