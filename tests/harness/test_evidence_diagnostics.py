"""Diagnostics: stack logs cut to a test's window and objects; operator logs on a cluster."""

from __future__ import annotations

import json
import time
from datetime import datetime

from harness.clients.kubernetes_api import KubeClient
from harness.clients.resources import ACCESS_RULE
from harness.config import load_settings
from harness.contract import embedded
from harness.evidence.diagnostics import CappedFolder, operator_logs
from harness.evidence.logs import (
    Window,
    component_logs,
    control_plane,
    filter_component_log,
    filter_request_log,
)
from harness.evidence.redaction import Redactor

START = datetime(2026, 1, 1, 12, 0, 0).timestamp()  # the stack logs local time


def test_component_log_keeps_the_window_and_the_tests_objects_with_their_tracebacks():
    lines = [
        "2026-01-01T11:59:50.000 controller INFO x: provision job for hub/vm-mine started",
        "2026-01-01T12:00:01.000 controller INFO x: provision job for hub/vm-mine started",
        "2026-01-01T12:00:02.000 controller INFO x: provision job for hub/vm-other started",
        "2026-01-01T12:00:03.000 controller INFO x: New restart request detected: requestedAt=R",
        "2026-01-01T12:00:04.000 controller ERROR x: reconcile of hub/vm-mine failed",
        "Traceback (most recent call last):",
        '  File "x.py", line 1',
        "2026-01-01T12:00:05.000 controller ERROR x: reconcile of hub/vm-other failed",
        "Traceback (most recent call last):",
        "2026-01-01T12:09:00.000 controller INFO x: provision job for hub/vm-mine started",
    ]
    kept = filter_component_log(lines, Window(START, START + 60), ["vm-mine"])
    assert kept == [lines[1], lines[3], lines[4], lines[5], lines[6]]


def test_request_log_keeps_requests_about_the_tests_objects_in_the_window():
    def record(seconds, path, query=None):
        utc = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(START + seconds)) + ".000Z"
        return json.dumps({"time": utc, "path": path, "query": query or {}})

    lines = [
        record(1, "/apis/g/v1/namespaces/hub/computeinstances/vm-mine"),
        record(2, "/apis/g/v1/namespaces/hub/computeinstances/vm-other"),
        record(3, "/apis/g/v1/namespaces/hub/computeinstances", {"labelSelector": "uuid=id-1"}),
        record(-30, "/apis/g/v1/namespaces/hub/computeinstances/vm-mine"),
        "not json",
    ]
    kept = filter_request_log(lines, Window(START, START + 60), ["vm-mine", "id-1"])
    assert kept == [lines[0], lines[2]]


def operator_note(kubeconfig, folder_path):
    kube = KubeClient.from_kubeconfig(kubeconfig)
    settings = load_settings(
        {"--target": "cluster", "--kubeconfig": str(kubeconfig), "--via": "cr"},
        {"HARNESS_TENANT": "t"},
    )
    try:
        operator_logs(
            CappedFolder(folder_path, Redactor()), kube, settings, Window(START, START + 5), []
        )
    finally:
        kube.close()
    return settings.profile.operator_namespace, (folder_path / "logs" / "NOTE.txt").read_text()


def test_on_a_cluster_the_operator_logs_note_says_why_there_are_none(start_apiserver, tmp_path):
    server = start_apiserver()
    namespace, note = operator_note(server.kubeconfig, tmp_path / "listed")
    assert f"no pods in {namespace}" in note

    admin = KubeClient.from_kubeconfig(server.kubeconfig)
    try:  # like RBAC without `list pods` in the operator's namespace
        rule = embedded.deny_rule("no-pods", "list", "", "pods", namespace)
        admin.create_cluster_object(ACCESS_RULE, rule)
    finally:
        admin.close()
    namespace, note = operator_note(server.kubeconfig, tmp_path / "refused")
    assert f"cannot list pods in {namespace}" in note
    assert f"kubectl logs -n {namespace}" in note and "--since-time 2026-01-01T" in note


def test_on_a_real_control_plane_the_operator_log_is_not_taken_from_its_file(tmp_path):
    """There its pod serves it (pods/log); the other components' files are still cut."""
    (tmp_path / "logs").mkdir()
    for name in ("controller.log", "kubevirt.log", "fulfillment.log"):
        (tmp_path / "logs" / name).write_text("")
    for plane, expected in (
        ("embedded", ["controller.log", "fulfillment.log", "kubevirt.log"]),
        ("real", ["fulfillment.log", "kubevirt.log"]),
    ):
        (tmp_path / "stack.json").write_text(json.dumps({"control_plane": plane}))
        assert control_plane(tmp_path) == plane
        assert [p.name for p in component_logs(tmp_path)] == expected
    (tmp_path / "stack.json").write_text("{broken")
    assert control_plane(tmp_path) == "embedded"
