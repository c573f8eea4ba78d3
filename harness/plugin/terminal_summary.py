"""What is reported where the results arrive — the xdist controller too, which runs no tests
and so never imports the fixtures or the client libraries: contract findings and passes that
needed transport retries, each in its own section of the terminal summary.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.testkit.findings import ContractFinding

_PASSED_AFTER_RETRIES: list[tuple[str, int]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Runs where results are reported (the xdist controller too): flag retried passes."""
    retries = sum(v for k, v in report.user_properties if k == "transport_retries")
    if report.when == "call" and report.passed and retries:
        _PASSED_AFTER_RETRIES.append((report.nodeid, retries))


def pytest_warning_recorded(warning_message: Any, when: str, nodeid: str, location: Any) -> None:
    if isinstance(warning_message.message, ContractFinding):
        _FINDINGS.append((nodeid, str(warning_message.message)))


_FINDINGS: list[tuple[str, str]] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Contract findings (hazards the contract documents, seen in this run — not failures) and
    passes that needed transport retries (trustworthy, but the environment was flaky)."""
    if _FINDINGS:
        terminalreporter.section("contract findings")
        for nodeid, message in _FINDINGS:
            terminalreporter.line(f"{nodeid}: {message}")
    if _PASSED_AFTER_RETRIES:
        terminalreporter.section("passed only after transport retries")
        for nodeid, count in _PASSED_AFTER_RETRIES:
            terminalreporter.line(
                f"{nodeid}: {count} retries (see the test's 'transport retries' section with -rA)"
            )
