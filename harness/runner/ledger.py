"""The run ledger of one pytest process: which test created which instance, and which failed.

Objects carry the run/worker/test labels (`labels.py`); the ledger also keeps the names it saw,
so the sweep finds an object whose labels did not survive (a fulfillment service that drops
them and a label patch that failed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from harness.runner.labels import label_of_test, run_labels


class CreatedInstance(Protocol):
    """What the ledger needs of an instance under test (harness.testkit.instance)."""

    id: str
    cr_name: str | None
    vm_namespace: str | None
    vm_name: str | None


@dataclass
class RunLedger:
    run_id: str
    worker: str
    keep_on_failure: bool = False
    _instances: list[tuple[str, CreatedInstance]] = field(default_factory=list)
    _failed_tests: set[str] = field(default_factory=set)
    _labelled_tests: dict[str, str] = field(default_factory=dict)

    def labels_for(self, nodeid: str) -> dict[str, str]:
        self._labelled_tests[label_of_test(nodeid)] = nodeid
        return run_labels(self.run_id, self.worker, nodeid)

    def record(self, nodeid: str, instance: CreatedInstance) -> None:
        self._instances.append((nodeid, instance))

    def mark_failed(self, nodeid: str) -> None:
        self._failed_tests.add(nodeid)

    def keeps(self, nodeid: str) -> bool:
        """Whether this test's objects stay for a person to look at (--keep-on-failure)."""
        return self.keep_on_failure and nodeid in self._failed_tests

    def kept_test_labels(self) -> dict[str, str]:
        """test label -> node id of every test whose objects are kept."""
        return {
            label_of_test(nodeid): nodeid for nodeid in self._failed_tests if self.keeps(nodeid)
        }

    def cr_names(self) -> dict[str, str]:
        """CR name -> node id of every instance whose CR was seen."""
        return {
            instance.cr_name: nodeid for nodeid, instance in self._instances if instance.cr_name
        }

    def test_of_label(self, label: str) -> str:
        return self._labelled_tests.get(label, label)
