"""`python -m harness run` and `merge` for real, against one stack (`--target cluster`).

The stack outlives each run, so what a run leaves behind can be checked afterwards: the run's
objects carry its labels (`HARNESS_RUN_ID` is chosen here). Which tests a shard selects is the
plugin's alone, shown by collecting in this process (pytester).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.clients.kubernetes_api import KubeClient
from harness.clients.resources import VM, VMI, instance_resource
from harness.contract.profiles import RUN_LABEL, TEST_LABEL, get_profile
from harness.reference.stack import StackOptions, launch
from harness.runner.interrupt import child_pids
from harness.testkit.timeline import Timeline
from harness.testkit.watchers import ResourceWatcher
from tests.environ import without_harness_settings
from tests.inprocess import output_of, run_pytest_inprocess

REPO = Path(__file__).resolve().parents[2]
SAMPLES = "tests/e2e/run_samples/deliberate.py"
PROFILE = get_profile("osac")
FAST = "baseline or malformed"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    state = tmp_path_factory.mktemp("run-stack")
    stack = launch(StackOptions(state_dir=state))
    env = stack.start()
    kube = KubeClient.from_kubeconfig(Path(env["KUBECONFIG"]))
    yield env, kube
    kube.close()
    stack.stop()


def clean_env(extra):
    env = without_harness_settings()
    env.pop("PYTEST_XDIST_WORKER", None)
    return {**env, **extra}


def harness(*args, env, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_env(stack, run_id):
    return clean_env({**stack[0], "HARNESS_RUN_ID": run_id})


def summary_of(results):
    return json.loads((results / "summary.json").read_text())


def left_of_run(kube, run_id, cr_names=()):
    """Every ComputeInstance labelled with the run, and every VM/VMI of the named CRs."""
    crs, _ = kube.list(instance_resource(PROFILE), None, label_selector=f"{RUN_LABEL}={run_id}")
    names = set(cr_names) | {item["metadata"]["name"] for item in crs}
    left = [f"ComputeInstance {item['metadata']['name']}" for item in crs]
    for resource in (VM, VMI):
        items, _ = kube.list(resource, None, label_selector=PROFILE.instance_name_label)
        left += [
            f"{resource.kind} {item['metadata']['name']}"
            for item in items
            if item["metadata"]["labels"][PROFILE.instance_name_label] in names
        ]
    return left


def collect_command(paths):
    return [
        sys.executable,
        "-m",
        "pytest",
        *paths,
        "--collect-only",
        "-q",
        "-p",
        "no:cacheprovider",
    ]


def collect_all(*runs):
    """Collect-only runs side by side: (args, env, paths) each; their test ids, in order."""
    processes = [
        subprocess.Popen(
            collect_command(paths) + list(args),
            env=clean_env(env),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for args, env, paths in runs
    ]
    found = []
    for process in processes:
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0, output
        found.append([line for line in output.splitlines() if "::" in line])
    return found


def collect(args, env=None, paths=("suites",)):
    return collect_all((args, env or {}, paths))[0]


def collect_inprocess(pytester, *args, env=None):
    """The suite's test ids, collected in this process."""
    result = run_pytest_inprocess(pytester, REPO / "suites", "--collect-only", "-q", *args, env=env)
    assert result.ret == pytest.ExitCode.OK, output_of(result)
    return [line for line in result.outlines if "::" in line]


def test_shards_together_are_the_whole_suite_without_overlap(pytester):
    whole = collect_inprocess(pytester)
    parts = [
        collect_inprocess(pytester, "--shard", "0/3"),
        collect_inprocess(pytester, env={"HARNESS_SHARD": "1/3"}),
        collect_inprocess(pytester, env={"JOB_COMPLETION_INDEX": "2", "HARNESS_SHARD_COUNT": "3"}),
    ]
    assert len(whole) > 20
    assert all(parts), [len(part) for part in parts]
    assert sorted(nodeid for part in parts for nodeid in part) == sorted(whole)


def test_two_shards_run_for_real_and_merge_into_one_layout(stack, tmp_path):
    selected = collect(["-k", FAST])
    for index in (0, 1):
        result = harness(
            "run",
            "--results-dir",
            str(tmp_path / f"shard-{index}"),
            "--shard",
            f"{index}/2",
            "--target",
            "cluster",
            "-k",
            FAST,
            env=run_env(stack, f"merge-{index}"),
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
        shard = summary_of(tmp_path / f"shard-{index}")
        assert shard["shard"] == {"index": index, "count": 2} and shard["verdict"] == "passed"
    out = tmp_path / "merged"
    shards = [str(tmp_path / "shard-0"), str(tmp_path / "shard-1")]
    result = harness("merge", str(out), *shards, env=clean_env({}))
    assert result.returncode == 0, result.stderr
    merged = summary_of(out)
    assert sorted(test["nodeid"] for test in merged["tests"]) == sorted(selected)
    assert merged["counts"]["passed"] == len(selected) == merged["counts"]["total"]
    assert (merged["verdict"], merged["exit_code"], merged["problems"]) == ("passed", 0, [])
    junit = ET.parse(out / "junit.xml").getroot()
    assert junit.get("tests") == str(len(selected)) and junit.get("failures") == "0"
    assert len(junit.findall("testsuite/testcase")) == len(selected)
    allure = {p.name for s in shards for p in (Path(s) / "allure-results").iterdir()}
    assert allure and allure == {p.name for p in (out / "allure-results").iterdir()}
    environment = json.loads((out / "environment.json").read_text())
    assert environment["target"] == "cluster" and environment["kubernetes_server_version"]
    operator = environment["operator"]
    assert operator["deployment"] == f"{PROFILE.operator_namespace}/{PROFILE.operator_deployment}"
    assert operator["images"] and all(image["image"] for image in operator["images"]), operator
    for name in ("summary.json", "environment.json"):
        text = (out / name).read_text() + (tmp_path / "shard-0" / name).read_text()
        assert stack[0]["HARNESS_API_TOKEN"] not in text, f"a token in {name}"


def descendants(pid):
    found = []
    for child in child_pids(pid):
        found += [child, *descendants(child)]
    return found


def alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_sigterm_mid_suite_cleans_up_and_leaves_a_complete_summary(stack, tmp_path):
    _, kube = stack
    run_id = "sigterm-run"
    results = tmp_path / "results"
    suites = ["suites/test_restart.py", "suites/test_restart_ignored.py"]
    timeline = Timeline()
    watcher = ResourceWatcher(
        kube, instance_resource(PROFILE), None, timeline, label_selector=f"{RUN_LABEL}={run_id}"
    ).start()
    command = [sys.executable, "-m", "harness", "run", "--results-dir", str(results)]
    process = subprocess.Popen(
        [*command, "--workers", "2", "--target", "cluster", *suites],
        env=run_env(stack, run_id),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        (expected,) = collect_all(([], {}, suites))  # while the run starts
        started = timeline.wait(lambda: timeline.latest(PROFILE.kind), 300)
        assert started, "no instance of the run appeared"
        processes = descendants(process.pid)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=600)
    finally:
        watcher.stop()
        if process.poll() is None:
            process.kill()
    assert process.returncode == 2, output[-4000:]
    summary = summary_of(results)
    assert (summary["verdict"], summary["exit_code"]) == ("interrupted", 2)
    assert summary["interrupted_by"] == "SIGTERM"
    assert sorted(test["nodeid"] for test in summary["tests"]) == sorted(expected)
    assert summary["counts"]["total"] == len(expected)
    assert summary["counts"]["interrupted"] + summary["counts"]["not-run"] >= 1
    assert summary["counts"]["failed"] == summary["counts"]["error"] == 0, summary["tests"]
    assert summary["leaks"] == []
    assert (results / "junit.xml").is_file() and (results / "environment.json").is_file()
    seen = {observation.name for observation in timeline.observations(PROFILE.kind)}
    assert left_of_run(kube, run_id, seen) == []
    assert processes and not [pid for pid in processes if alive(pid)], "processes left behind"


def test_a_leaked_instance_is_found_reported_and_removed(stack, tmp_path):
    _, kube = stack
    results = tmp_path / "results"
    result = harness(
        "run",
        "--results-dir",
        str(results),
        "--target",
        "cluster",
        f"{SAMPLES}::test_leaves_an_instance_behind",
        env=run_env(stack, "leak-run"),
    )
    assert result.returncode == 21, result.stdout[-3000:] + result.stderr[-2000:]
    summary = summary_of(results)
    assert summary["verdict"] == "leaked-objects"
    leaked = [leak for leak in summary["leaks"] if leak["kind"] == PROFILE.kind]
    assert len(leaked) == 1 and leaked[0]["removed"] is True
    assert leaked[0]["test"].endswith("::test_leaves_an_instance_behind")
    assert "leaked objects" in result.stdout and leaked[0]["name"] in result.stdout
    assert left_of_run(kube, "leak-run", [leaked[0]["name"]]) == []


def test_keep_on_failure_keeps_only_the_failing_tests_objects(stack, tmp_path):
    _, kube = stack
    results = tmp_path / "results"
    result = harness(
        "run",
        "--results-dir",
        str(results),
        "--keep-on-failure",
        "--target",
        "cluster",
        f"{SAMPLES}::test_fails_with_an_instance",
        f"{SAMPLES}::test_passes_with_an_instance",
        env=run_env(stack, "keep-run"),
    )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    summary = summary_of(results)
    assert summary["leaks"] == []
    (kept,) = summary["kept"]
    assert kept["test"].endswith("::test_fails_with_an_instance")
    assert kept["command"] in result.stdout
    assert kept["command"] == (
        f"kubectl delete {PROFILE.plural}.{PROFILE.group} -n {kept['namespace']} {kept['name']}"
    )
    left, _ = kube.list(instance_resource(PROFILE), None, label_selector=f"{RUN_LABEL}=keep-run")
    assert [item["metadata"]["name"] for item in left] == [kept["name"]]
    assert "test_fails_with_an_instance" in left[0]["metadata"]["labels"][TEST_LABEL]
    kube.delete(instance_resource(PROFILE), kept["namespace"], kept["name"])


def test_a_deadline_too_close_runs_nothing_and_says_so(stack, tmp_path):
    results = tmp_path / "results"
    result = harness(
        "run",
        "--results-dir",
        str(results),
        "--deadline",
        "1",
        "--target",
        "cluster",
        "-k",
        "baseline or malformed",
        env=run_env(stack, "deadline-run"),
    )
    assert result.returncode == 22, result.stdout[-3000:] + result.stderr[-2000:]
    summary = summary_of(results)
    assert (summary["verdict"], summary["counts"]["not-run"], summary["counts"]["total"]) == (
        "deadline-reached",
        2,
        2,
    )
    assert summary["deadline"]["reached"] is True and summary["deadline"]["seconds"] == 1
    assert all("deadline" in test["reason"] for test in summary["tests"]), summary["tests"]


def test_environment_not_ready_under_xdist_is_exit_20_not_a_crash(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: x\n"
        'clusters: [{name: c, cluster: {server: "http://127.0.0.1:1"}}]\n'
        "users: [{name: u, user: {token: not-a-real-token}}]\n"
        "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
    )
    results = tmp_path / "results"
    result = harness(
        "run",
        "--results-dir",
        str(results),
        "--workers",
        "2",
        "--target",
        "cluster",
        "--kubeconfig",
        str(kubeconfig),
        "--via",
        "cr",
        "--tenant",
        "t",
        "-k",
        "baseline",
        env=clean_env({}),
    )
    assert result.returncode == 20, result.stdout[-3000:] + result.stderr[-2000:]
    summary = summary_of(results)
    assert (summary["verdict"], summary["exit_code"]) == ("environment-not-ready", 20)
    assert "127.0.0.1:1" in summary["message"] and "unreachable" in summary["message"]
    assert "unreachable" in result.stderr
