"""Allure steps and attachments (allure-pytest), in one place.

Without `--alluredir` allure-pytest records nothing and these cost next to nothing, so the
harness marks its steps unconditionally.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import allure

F = TypeVar("F", bound=Callable[..., Any])

TEXT = allure.attachment_type.TEXT
PNG = allure.attachment_type.PNG
JSON = allure.attachment_type.JSON


def step(title: str) -> Any:
    """`with step("…"):` or `@step("…")` — a step in the Allure report."""
    return allure.step(title)


def attach_text(name: str, text: str) -> None:
    allure.attach(text, name=name, attachment_type=TEXT)


def attach_json(name: str, text: str) -> None:
    allure.attach(text, name=name, attachment_type=JSON)


def attach_png(name: str, data: bytes) -> None:
    allure.attach(data, name=name, attachment_type=PNG)


def attach_to_run(name: str, data: bytes | str, kind: Any) -> None:
    """A global attachment: shown once for the whole run (Allure Report 3 "Global
    Attachments"), e.g. the run's latency chart."""
    allure.global_attach(data, name=name, attachment_type=kind)


def report_late_failure(nodeid: str, suite: str, name: str, message: str) -> None:
    """A failure found after the test's own Allure result was written (a leak its background
    cleanup found while the next test ran): a result of its own, failed, next to the test's.
    Nothing is written without `--alluredir` (no result writer is registered then)."""
    from allure_commons import plugin_manager
    from allure_commons.model2 import Label, Status, StatusDetails, TestResult
    from allure_commons.utils import md5, now, uuid4

    moment = now()
    result = TestResult(
        uuid=uuid4(),
        name=f"{name} (cleanup after the test)",
        fullName=f"{nodeid} (cleanup)",
        historyId=md5(nodeid, "cleanup"),
        testCaseId=md5(nodeid, "cleanup"),
        status=Status.FAILED,
        statusDetails=StatusDetails(message=message),
        stage="finished",
        labels=[Label(name="suite", value=suite), Label(name="tag", value="cleanup")],
        start=moment,
        stop=moment,
    )
    plugin_manager.hook.report_result(result=result)
