"""The pytest side of the evidence: registered by `harness.plugin.configure` as a sub-plugin.

Per test (in the worker that ran it): timeline file, "timeline" report section and Allure
attachment, restart latency samples (JUnit properties, Allure chart, carried to the controller
on the teardown report), diagnostics for a failure. Per run (in the process that reports —
the xdist controller too): metrics.json, the run's latency chart, thresholds.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.config import Settings
from harness.evidence import chart, latency, metrics
from harness.evidence.diagnostics import CappedFolder, collect
from harness.evidence.logs import stack_dir
from harness.evidence.redaction import Redactor, kubeconfig_secrets, token_file_secrets
from harness.evidence.timeline_export import jsonl, records, table
from harness.exitcodes import ExitCode
from harness.filewrites import reason, write_atomic
from harness.results import ResultsLayout
from harness.testkit import progress, steps

if TYPE_CHECKING:  # the xdist controller registers these hooks and needs no client library
    from harness.testkit.instance import ComputeInstanceUnderTest

log = logging.getLogger("harness.evidence")

INSTANCES_KEY = pytest.StashKey[list["ComputeInstanceUnderTest"]]()
STARTED_KEY = pytest.StashKey[float]()
DIAGNOSED_KEY = pytest.StashKey[Path]()
SAMPLES_ATTRIBUTE = "restart_latency_samples"
PLUGIN_NAME = "harness-evidence"


def track(node: pytest.Item, instances: list[ComputeInstanceUnderTest]) -> None:
    """The instances a test creates (the list fills as it runs)."""
    node.stash[INSTANCES_KEY] = instances


def redactor_for(settings: Settings) -> Redactor:
    secrets: list[str | None] = [settings.api_token, settings.admin_token]
    secrets += kubeconfig_secrets(settings.kubeconfig)
    state = stack_dir(settings)
    if state is not None:
        for name in ("kube-tokens.json", "api-tokens.json"):
            secrets += token_file_secrets(state / name)
    return Redactor(secrets)


class EvidencePlugin:
    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.layout = ResultsLayout(settings.results_dir) if settings.results_dir else None
        self.worker = hasattr(config, "workerinput")
        # Attachments cost (a chart is drawn per test) only when allure-pytest records them.
        self.allure = bool(getattr(config.option, "allure_report_dir", None))
        self.samples: list[dict[str, Any]] = []
        self.violations: list[metrics.Violation] = []
        self.ticker: progress.Ticker | None = None

    # --- live progress --------------------------------------------------------------------

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None and not self.worker and sys.stdout.isatty():
            self.ticker = _terminal_ticker(self.config, reporter).start()
        else:
            self.ticker = progress.Ticker(progress.log_line, interval=10.0).start()

    # --- per test -------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        item.stash[STARTED_KEY] = time.time()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Iterator[None]:
        report: pytest.TestReport = yield
        try:
            if report.when == "call" or report.failed:
                self._timeline_section(item, report)
            if report.when == "teardown":
                self._teardown_evidence(item, report)
        except Exception:  # evidence must never turn a verdict into a harness error
            log.exception("writing the evidence of %s failed", item.nodeid)
            report.sections.append(("evidence", "writing the evidence failed; see the log"))
        return report

    def _teardown_evidence(self, item: pytest.Item, report: pytest.TestReport) -> None:
        instances = item.stash.get(INSTANCES_KEY, [])
        settings = instances[0].context.settings if instances else self.settings
        redactor = redactor_for(settings)
        if instances:
            text = redactor.text(
                table([(_label(i), i.timeline) for i in instances], settings.profile)
            )
            steps.attach_text("timeline", text)
            if self.layout is not None:
                rows = [{"instance": i.id, **row} for i in instances for row in records(i.timeline)]
                rows.sort(key=lambda row: (row["time"], row["seq"]))
                path = self.layout.timeline_file(item.nodeid)
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    write_atomic(path, jsonl(redactor.object(rows)))
                except OSError as error:
                    self._lose(path, error)
        samples = [
            {"test": item.nodeid, **sample.as_dict()}
            for instance in instances
            for sample in latency.restart_samples(instance.timeline, instance.profile)
        ]
        self._latency_evidence(report, samples, item.nodeid)
        failed = report.failed or any(
            r.failed for r in _reports(item).values() if r.when != "teardown"
        )
        if failed:
            folder = item.stash.get(DIAGNOSED_KEY, None)
            if folder is None:
                failure = "\n\n".join(
                    r.longreprtext
                    for r in [*_reports(item).values(), report]
                    if r.failed and (r.when != "teardown" or r is report)
                )
                folder = self.diagnose(item, failure, instances, settings)
            if folder is not None:
                report.sections.append(("diagnostics", f"written to {folder}"))
                if self.allure:
                    _attach_folder(folder)

    def _timeline_section(self, item: pytest.Item, report: pytest.TestReport) -> None:
        """The timeline so far as a section of this report (shown with a failure, -rP)."""
        instances = item.stash.get(INSTANCES_KEY, [])
        if not instances:
            return
        settings = instances[0].context.settings
        text = table([(_label(i), i.timeline) for i in instances], settings.profile)
        report.sections.append(("timeline", redactor_for(settings).text(text)))

    def _latency_evidence(
        self, report: pytest.TestReport, samples: list[dict[str, Any]], nodeid: str
    ) -> None:
        setattr(report, SAMPLES_ATTRIBUTE, samples)
        completed = [s for s in samples if s["completed"]]
        for index, sample in enumerate(completed, 1):
            for phase, seconds in sample["phases"].items():
                report.user_properties.append((f"restart_latency.{index}.{phase}", seconds))
        if completed and self.allure:
            steps.attach_json("restart latency", json.dumps(completed, indent=2))
            steps.attach_png("restart latency chart", chart.test_chart(completed, nodeid))

    def diagnose(
        self,
        item: pytest.Item,
        failure: str,
        instances: list[ComputeInstanceUnderTest],
        settings: Settings,
    ) -> Path | None:
        """Write the diagnostics folder of a failing test (once); None without a results dir."""
        if self.layout is None or DIAGNOSED_KEY in item.stash:
            return item.stash.get(DIAGNOSED_KEY, None)
        root = self.layout.diagnostics_for(item.nodeid)
        folder = CappedFolder(root, redactor_for(settings))
        started = item.stash.get(STARTED_KEY, time.time())
        item.stash[DIAGNOSED_KEY] = root
        try:
            collect(folder, item.nodeid, failure, instances, settings, started)
        finally:
            for path, error in folder.refused:
                self._lose(path, error)
        return root

    def _lose(self, path: Path, error: OSError) -> None:
        """A file the disk refused: the run's verdict says so (exit 20), the run goes on."""
        from harness.plugin.run_hooks import STATE_KEY

        log.warning("the disk refused %s: %s", path, reason(error))
        state = self.config.stash.get(STATE_KEY, None)
        if state is not None:
            state.lose(path, error, self.layout.root if self.layout else None)

    # --- per run (where reports arrive: the xdist controller, or the only process) --------

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "teardown":
            self.samples += getattr(report, SAMPLES_ATTRIBUTE, None) or []

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.ticker is not None:
            self.ticker.stop()
        if self.worker:
            return
        limits = self.settings.latency_limits
        self.violations = metrics.violations(self.samples, limits)
        if self.violations and session.exitstatus == ExitCode.PASSED:
            session.exitstatus = ExitCode.TESTS_FAILED
        try:
            document = metrics.document(self.samples, limits)
            if self.layout is not None:
                try:
                    self._write_metrics(document)
                except OSError as error:
                    self._lose(self.layout.metrics, error)
            if self.allure:
                steps.attach_to_run("restart latency (run)", metrics.dumps(document), steps.JSON)
                steps.attach_to_run(
                    "restart latency chart (run)", chart.run_chart(document["phases"]), steps.PNG
                )
        except Exception:
            log.exception("writing the run's restart latency failed")

    def _write_metrics(self, document: dict[str, Any]) -> None:
        assert self.layout is not None
        self.layout.root.mkdir(parents=True, exist_ok=True)
        write_atomic(self.layout.metrics, metrics.dumps(document))
        try:
            write_atomic(self.layout.latency_chart, chart.run_chart(document["phases"]))
        except OSError as error:
            self._lose(self.layout.latency_chart, error)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.worker:
            return
        summary = metrics.summarize(self.samples)
        if summary:
            terminalreporter.section("restart latency")
            total = summary.get("total")
            count = int(max(v["count"] for v in summary.values()))
            line = f"{count} restarts"
            if total:
                line += (
                    f"; total p50 {total['p50']:.3f} s, p90 {total['p90']:.3f} s, "
                    f"p99 {total['p99']:.3f} s, max {total['max']:.3f} s"
                )
            if self.layout is not None:
                line += f" (per phase: {self.layout.metrics})"
            terminalreporter.line(line)
        for violation in self.violations:
            terminalreporter.line(f"FAILED {violation}", red=True)


def diagnose_before_cleanup(item: pytest.Item) -> None:
    """A setup or call failure: collect now, while the test's objects still exist (the fresh
    GETs then show them, not their deletion)."""
    reports = _reports(item)
    failed = [r for r in reports.values() if r.failed]
    plugin = item.config.pluginmanager.get_plugin(PLUGIN_NAME)
    if not failed or not isinstance(plugin, EvidencePlugin):
        return
    instances = item.stash.get(INSTANCES_KEY, [])
    settings = instances[0].context.settings if instances else plugin.settings
    try:
        plugin.diagnose(item, "\n\n".join(r.longreprtext for r in failed), instances, settings)
    except Exception:
        log.exception("collecting the diagnostics of %s failed", item.nodeid)


def register(config: pytest.Config, settings: Settings) -> None:
    config.pluginmanager.register(EvidencePlugin(config, settings), PLUGIN_NAME)


def _label(instance: ComputeInstanceUnderTest) -> str:
    return f"instance {instance.id or '<not created>'} (CR {instance.cr_name or '<not seen>'})"


def _reports(item: pytest.Item) -> dict[str, pytest.TestReport]:
    from harness.plugin.configure import REPORTS_KEY

    return item.stash.get(REPORTS_KEY, {})


def _attach_folder(folder: Path) -> None:
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = f"diagnostics/{path.relative_to(folder)}"
        steps.attach_text(name, path.read_text(errors="replace"))


def _terminal_ticker(config: pytest.Config, reporter: Any) -> progress.Ticker:
    """A line refreshed in place on the terminal, written past pytest's output capture."""
    capture = config.pluginmanager.get_plugin("capturemanager")
    writer = reporter._tw
    saved: list[str] = []

    def write(text: str) -> None:
        if capture is not None:
            with capture.global_and_fixture_disabled():
                writer.write(text, flush=True)
        else:
            writer.write(text, flush=True)

    def show(text: str) -> None:
        if not saved:
            saved.append(getattr(writer, "_current_line", ""))
        write("\r\x1b[K" + text[: max(20, writer.fullwidth - 1)])

    def clear() -> None:
        line = saved.pop() if saved else ""
        write("\r\x1b[K" + line)
        if hasattr(writer, "_current_line"):
            writer._current_line = line

    return progress.Ticker(show, clear)
