"""Evidence a person reads without rerunning (issue 5): diagnostics of a failing test, restart
latency over a run (also under pytest-xdist), latency limits, and the Allure report as headless
Chromium shows it.

The failing run is in this process (pytester), the harness plugin loaded by its entry point as
in any run. The passing run is under pytest-xdist, so pytest runs as a child process; it is
shared by the tests that read it, also across this project's own xdist workers (a lock file: the
first worker makes it, the other reads it).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import http.server
import itertools
import json
import shutil
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.reference.stack import StackOptions, launch
from harness.results import ResultsLayout
from tests.inprocess import output_of, run_pytest_inprocess

from .conftest import REPO, run_pytest

RESTART_NOW = "suites/test_restart.py::test_restart_now_replaces_the_vmi_and_records_the_request"
REPEATED = (
    "suites/test_restart.py::test_repeated_restarts_each_replace_the_vmi_once_and_move_forward"
)
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def evidence_args(root: Path) -> list[str]:
    layout = ResultsLayout(root)
    return [
        "--results-dir",
        str(root),
        "--alluredir",
        str(layout.allure_results),
        "--junitxml",
        str(layout.junit),
    ]


def allure_results(root: Path) -> dict[str, dict]:
    results = {}
    for path in ResultsLayout(root).allure_results.glob("*-result.json"):
        result = json.loads(path.read_text())
        results[result["fullName"]] = result
    return results


def attachment_names(node: dict) -> list[str]:
    names = [a["name"] for a in node.get("attachments", [])]
    for step in node.get("steps", []):
        names += attachment_names(step)
    return names


def step_names(node: dict) -> list[str]:
    names = []
    for step in node.get("steps", []):
        names += [step["name"], *step_names(step)]
    return names


@pytest.mark.timeout(600)  # what a child process was given
def test_a_failing_test_leaves_diagnostics_that_name_the_cause_and_no_token(tmp_path, pytester):
    """Against a controller that records the restart without deleting the VMI."""
    state, root = tmp_path / "stack", tmp_path / "results"
    stack = launch(StackOptions(state_dir=state, controller="mutant:records-without-delete"))
    env = stack.start()
    try:
        result = run_pytest_inprocess(
            pytester,
            "-q",
            f"{REPO}/{RESTART_NOW}",
            "--target",
            "cluster",
            "--restart-timeout",
            "20",
            *evidence_args(root),
            env=env,
        )
    finally:
        stack.stop()
    assert result.ret == pytest.ExitCode.TESTS_FAILED, output_of(result)[-5000:]
    result.assert_outcomes(failed=1)

    folder = ResultsLayout(root).diagnostics_for(RESTART_NOW)
    readme = (folder / "README.txt").read_text()
    why = readme.split("why it failed:")[1].split("last state seen:")[0]
    assert "was never deleted" in why and "contract §7.3" in why, readme
    cr_name = readme.split("(CR ")[1].split(")")[0]
    controller_log = (folder / "logs" / "controller.log").read_text()
    assert "New restart request detected" in controller_log
    assert cr_name in controller_log
    assert "Deleting VirtualMachineInstance" not in controller_log  # the mutant, in its log
    requests = (folder / "logs" / "apiserver-requests.jsonl").read_text().splitlines()
    instance_id = readme.split("  instance ")[1].split(" ")[0]
    assert any(cr_name in line for line in requests)
    assert all(cr_name in line or instance_id in line for line in requests)
    [cr_yaml] = (folder / "objects").glob(f"computeinstance-{cr_name}-*.yaml")
    assert "lastRestartedAt" in cr_yaml.read_text()
    assert list((folder / "objects").glob("virtualmachineinstance-*.yaml"))
    assert "VirtualMachineInstance" in (folder / "timeline.txt").read_text()
    assert (folder / "settings.yaml").read_text().count("<redacted>") == 2  # API, admin token

    report = allure_results(root)["suites.test_restart#" + RESTART_NOW.split("::")[1]]
    assert report["status"] == "failed" and "never deleted" in report["statusDetails"]["message"]
    names = attachment_names(report)
    assert "timeline" in names and "diagnostics/README.txt" in names
    result.stdout.fnmatch_lines(["*- timeline -*"])  # the report section under the failure

    seeded = [env["HARNESS_API_TOKEN"], env["HARNESS_ADMIN_TOKEN"]]
    seeded += [t["token"] for t in json.loads((state / "kube-tokens.json").read_text())["tokens"]]
    written = [p for p in root.rglob("*") if p.is_file()]
    assert len(written) > 20
    for path in written:
        data = path.read_bytes()
        for token in seeded:
            assert token.encode() not in data, f"a token leaked into {path}"


@contextlib.contextmanager
def exclusive(lock: Path):
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="module")
def passing_run(tmp_path_factory, worker_id):
    """Two restart tests (four restarts) on 2 xdist workers against the embedded stack, with a
    limit on one phase that any restart exceeds and a generous one on the whole restart."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if worker_id != "master" else base
    root = shared / "evidence-passing-run"
    with exclusive(shared / "evidence-passing-run.lock"):
        outcome = shared / "evidence-passing-run.json"
        if not outcome.exists():
            result = run_pytest(
                [
                    "suites/test_restart.py",
                    "-k",
                    "restart_now or repeated",
                    "-n",
                    "2",
                    "--max-phase-seconds",
                    "new_vmi_created=0.0001",
                    "--max-restart-seconds",
                    "3600",
                    *evidence_args(root),
                ],
                {},
                timeout=600,
            )
            outcome.write_text(json.dumps({"code": result.returncode, "out": result.stdout}))
    return root, json.loads(outcome.read_text())


def test_metrics_hold_percentiles_of_every_restart_and_a_limit_fails_the_run(passing_run):
    root, outcome = passing_run
    layout = ResultsLayout(root)
    assert "2 passed" in outcome["out"], outcome["out"][-3000:]
    assert outcome["code"] == 1, "a restart phase over its limit must fail the run"
    assert "restart latency over its limit: phase new_vmi_created took" in outcome["out"]
    assert "limit 0.0001 s" in outcome["out"]
    assert "restart took" not in outcome["out"]  # the 3600 s limit on the whole restart holds

    metrics = json.loads(layout.metrics.read_text())
    assert metrics["restarts"] == 4  # 1 + 3, from two workers
    assert {s["test"] for s in metrics["samples"]} == {RESTART_NOW, REPEATED}
    for phase in ("in_progress", "old_vmi_gone", "new_vmi_created", "last_restarted_at", "total"):
        stats = metrics["phases"][phase]
        assert stats["count"] == 4, (phase, stats)
        assert 0 <= stats["p50"] <= stats["p90"] <= stats["p99"] <= stats["max"], stats
    assert metrics["phases"]["total"]["max"] > 0
    assert metrics["limits"] == {"new_vmi_created": 0.0001, "total": 3600.0}
    assert metrics["violations"] and "new_vmi_created" in metrics["violations"][0]
    assert layout.latency_chart.read_bytes().startswith(b"\x89PNG")

    cases = {
        f"{c.get('classname')}.{c.get('name')}": c for c in ET.parse(layout.junit).iter("testcase")
    }
    for case in cases.values():
        properties = {p.get("name"): p.get("value") for p in case.iter("property")}
        assert float(properties["restart_latency.1.total"]) > 0, properties
    for nodeid in (RESTART_NOW, REPEATED):
        rows = [json.loads(line) for line in layout.timeline_file(nodeid).read_text().splitlines()]
        kinds = {row["kind"] for row in rows}
        assert {"ComputeInstance", "VirtualMachineInstance", "ApiCall"} <= kinds, kinds
        assert all(row["resourceVersion"] for row in rows if row["kind"] != "ApiCall")
    report = allure_results(root)["suites.test_restart#" + RESTART_NOW.split("::")[1]]
    steps = step_names(report)
    assert "request a restart" in steps and "await the restart" in steps, steps
    assert {"timeline", "restart latency chart"} <= set(attachment_names(report))
    run_attachments = [
        a["name"]
        for path in layout.allure_results.glob("*-globals.json")
        for a in json.loads(path.read_text()).get("attachments", [])
    ]
    assert "restart latency chart (run)" in run_attachments


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@contextlib.contextmanager
def serving(folder: Path):
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/index.html"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_the_report_opens_in_headless_chromium_with_the_restart_test_steps_and_timeline(
    passing_run, tmp_path
):
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js/npm not installed (Debian: apt-get install nodejs npm)")
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.skip(
            "headless Chromium not installed (Debian: apt-get install chromium chromium-driver)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    root, _ = passing_run
    layout = ResultsLayout(root)
    built = subprocess.run(
        [sys.executable, "-m", "harness", "report", "--results-dir", str(root)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    assert (layout.allure_report / "index.html").is_file()

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=1400,1800",
    ):
        options.add_argument(flag)
    browser = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))

    def visible(text):
        xpath = f"//*[normalize-space(text())='{text}']"
        return [e for e in browser.find_elements(By.XPATH, xpath) if e.is_displayed()]

    def shown(text):
        return WebDriverWait(browser, 30).until(lambda _: visible(text))[0]

    def open_tree(path):
        """Click down the report's tree; a node already expanded is left as it is."""
        shown(path[0])
        for node, child in itertools.pairwise(path):
            if not visible(child):
                shown(node).click()
        shown(path[-1]).click()

    try:
        with serving(layout.allure_report) as url:
            browser.get(url)
            open_tree(["suites", "test_restart.py", RESTART_NOW.split("::")[1]])
            for step in ("create an instance (api)", "request a restart", "await the restart"):
                shown(step)
            timeline = shown("timeline")
            browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", timeline)
            timeline.click()
            WebDriverWait(browser, 30).until(
                lambda b: "VirtualMachineInstance" in b.find_element(By.TAG_NAME, "body").text
            )
            browser.save_screenshot(str(layout.report_screenshot))
    finally:
        browser.quit()
    assert layout.report_screenshot.read_bytes().startswith(b"\x89PNG")
