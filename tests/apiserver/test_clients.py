"""Third-party clients against the embedded server: kubectl (get, apply) and a kopf operator."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from .helpers import (
    CI_GROUP,
    CI_PLURAL,
    CI_VERSION,
    DATA,
    GROUP,
    VERSION,
    WIDGETS,
    compute_instance,
    unique,
    watch_events,
    widget,
)

KUBECTL = shutil.which("kubectl")
KOPF_TIMEOUT = 20
KUBECTL_TIMEOUT = 30


def _kubectl(kubeconfig: Path, cache: Path, *args: str, stdin: str | None = None):
    return subprocess.run(
        [KUBECTL or "kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.kubectl
@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
def test_kubectl_get_and_apply(kubeconfig, custom, namespace, tmp_path):
    name = unique("kc")
    manifest = compute_instance(name)
    manifest["metadata"]["namespace"] = namespace
    applied = _kubectl(kubeconfig, tmp_path, "apply", "-f", "-", stdin=yaml.safe_dump(manifest))
    assert applied.returncode == 0, applied.stderr
    assert "created" in applied.stdout
    listed = _kubectl(kubeconfig, tmp_path, "get", "computeinstances", "-A")
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    columns = ["TEMPLATE", "CORES", "MEMORY", "RUNSTRATEGY", "PHASE", "IP"]
    assert header.split() == ["NAMESPACE", "NAME", *columns], "the CRD's printer columns"
    assert [namespace, name] in [row.split()[:2] for row in rows]
    manifest["spec"]["runStrategy"] = "Halted"
    reapplied = _kubectl(kubeconfig, tmp_path, "apply", "-f", "-", stdin=yaml.safe_dump(manifest))
    assert reapplied.returncode == 0, reapplied.stderr
    assert "configured" in reapplied.stdout
    stored = custom.get_namespaced_custom_object(CI_GROUP, CI_VERSION, namespace, CI_PLURAL, name)
    assert stored["spec"]["runStrategy"] == "Halted"
    manifest["spec"]["cores"] = 8
    rejected = _kubectl(kubeconfig, tmp_path, "apply", "-f", "-", stdin=yaml.safe_dump(manifest))
    assert rejected.returncode != 0
    assert "cores is immutable" in rejected.stderr


@pytest.mark.kubectl
@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
def test_kubectl_get_watch(kubeconfig, custom, namespace, tmp_path):
    """`kubectl get -w` prints the printer columns of every change it is sent."""
    name = unique("kw")
    manifest = compute_instance(name)
    manifest["metadata"]["labels"] = {"watched": name}
    custom.create_namespaced_custom_object(CI_GROUP, CI_VERSION, namespace, CI_PLURAL, manifest)
    command = [KUBECTL or "kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp_path)]
    # A list (by label), so that the watch resumes from the list's resourceVersion: a named get
    # watches from "0" and skips its first event, which can race with the patch below.
    command += ["get", CI_PLURAL, "-n", namespace, "-l", f"watched={name}", "-w"]
    watcher = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in watcher.stdout or ()])
    reader.start()

    def next_line() -> list[str]:
        return lines.get(timeout=KUBECTL_TIMEOUT).split()

    try:
        header = next_line()
        assert header == ["NAME", "TEMPLATE", "CORES", "MEMORY", "RUNSTRATEGY", "PHASE", "IP"]
        assert next_line()[:5] == [name, "osac.templates.ocp_virt_vm", "2", "4", "Always"]
        custom.patch_namespaced_custom_object(
            CI_GROUP, CI_VERSION, namespace, CI_PLURAL, name, {"spec": {"runStrategy": "Halted"}}
        )
        assert next_line()[:5] == [name, "osac.templates.ocp_virt_vm", "2", "4", "Halted"]
    finally:
        os.killpg(watcher.pid, signal.SIGTERM)
        watcher.wait(timeout=10)
        reader.join(timeout=10)


def test_kopf_operator_handlers(kubeconfig, core, custom, tmp_path):
    namespace = unique("kopf")
    core.create_namespace({"metadata": {"name": namespace}})
    name = unique("k")
    created = custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, WIDGETS, widget(name, size=2)
    )
    log = (tmp_path / "kopf.log").open("w")
    operator = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kopf",
            "run",
            "--standalone",
            "--namespace",
            namespace,
            str(DATA / "kopf_operator.py"),
        ],
        env=dict(os.environ, KUBECONFIG=str(kubeconfig)),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:

        def watch_object(until):
            return watch_events(
                custom.list_namespaced_custom_object,
                GROUP,
                VERSION,
                namespace,
                WIDGETS,
                field_selector=f"metadata.name={name}",
                timeout=KOPF_TIMEOUT,
                resource_version=created["metadata"]["resourceVersion"],
                until=lambda events: until(events[-1]),
            )[-1]

        after_create = watch_object(lambda e: (e["object"].get("status") or {}).get("created"))
        assert after_create["object"]["status"]["created"] == {"size": 2}
        assert (
            "kopf.zalando.org/KopfFinalizerMarker"
            in after_create["object"]["metadata"]["finalizers"]
        )
        custom.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, WIDGETS, name, {"spec": {"size": 5}}
        )
        after_update = watch_object(lambda e: (e["object"].get("status") or {}).get("updated"))
        assert after_update["object"]["status"]["updated"] == {"size": 5}
        custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, WIDGETS, name)
        gone = watch_object(lambda e: e["type"] == "DELETED")
        assert gone["type"] == "DELETED"
        events = watch_events(
            core.list_namespaced_event,
            namespace,
            field_selector=f"involvedObject.name={name}",
            timeout=KOPF_TIMEOUT,
            until=lambda events: any(e["object"].reason == "KopfDeleted" for e in events),
        )
        assert any(e["object"].reason == "KopfDeleted" for e in events)
    finally:
        if operator.poll() is None:
            os.kill(operator.pid, signal.SIGTERM)
            try:
                operator.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(operator.pid, signal.SIGKILL)
                operator.wait(timeout=5)
        log.close()
