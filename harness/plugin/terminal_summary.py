"""What is reported where the results arrive — the xdist controller too, which runs no tests
and so never imports the fixtures or the client libraries: contract findings and passes that
needed transport retries, each in its own section of the terminal summary.

What a session saw is kept by that session's own `TerminalSummary` (registered at configure
time), not by this module: two sessions in one process (pytester's in-process runs) never
report each other's findings.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.testkit.findings import ContractFinding

PLUGIN_NAME = "harness-terminal-summary"


class TerminalSummary:
    def __init__(self) -> None:
        self.passed_after_retries: list[tuple[str, int]] = []
        self.findings: list[tuple[str, str]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Runs where results are reported (the xdist controller too): flag retried passes."""
        retries = sum(v for k, v in report.user_properties if k == "transport_retries")
        if report.when == "call" and report.passed and retries:
            self.passed_after_retries.append((report.nodeid, retries))

    def pytest_warning_recorded(
        self, warning_message: Any, when: str, nodeid: str, location: Any
    ) -> None:
        if isinstance(warning_message.message, ContractFinding):
            self.findings.append((nodeid, str(warning_message.message)))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Contract findings (hazards the contract documents, seen in this run — not failures)
        and passes that needed transport retries (trustworthy, but the environment was flaky)."""
        if self.findings:
            terminalreporter.section("contract findings")
            for nodeid, message in self.findings:
                terminalreporter.line(f"{nodeid}: {message}")
        if self.passed_after_retries:
            terminalreporter.section("passed only after transport retries")
            for nodeid, count in self.passed_after_retries:
                terminalreporter.line(
                    f"{nodeid}: {count} retries (see the test's 'transport retries' section "
                    "with -rA)"
                )


def pytest_configure(config: pytest.Config) -> None:
    """Called as this module is registered (pytest_configure is historic): this session's own
    summary."""
    if config.pluginmanager.get_plugin(PLUGIN_NAME) is None:
        config.pluginmanager.register(TerminalSummary(), PLUGIN_NAME)
