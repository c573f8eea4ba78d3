"""The doctor against a stack of profile cloudkit-jobs: the group alone (cloudkit.openshift.io)
does not tell it from profile cloudkit; the served schema does, and the operator Deployment
names the provider its jobs read as."""

from __future__ import annotations

import json

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from harness.commands.cli import main
from harness.contract.profiles import CLOUDKIT_JOBS
from harness.reference.stack import StackOptions, launch
from tests.environ import drop_harness_settings


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    state = tmp_path_factory.mktemp("doctor-a2-stack")
    running = launch(StackOptions(state_dir=state, profile="cloudkit-jobs", provider="aap"))
    env = running.start()
    yield env
    running.stop()


@pytest.fixture
def doctor(stack, monkeypatch, capsys):
    drop_harness_settings(monkeypatch)
    for name, value in stack.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HARNESS_TARGET", "cluster")

    def run(*args):
        capsys.readouterr()
        code = main(["doctor", "--json", "--webhook-timeout", "5", *args])
        report = json.loads(capsys.readouterr().out)
        return code, {f["id"]: f for f in report["checks"]}

    return run


def test_the_stacks_own_profile_passes(doctor):
    code, findings = doctor("--only", "kube.api", "--only", "crd.computeinstance")
    assert code == 0, findings
    assert "era A2 (cloudkit-jobs)" in findings["crd.computeinstance"]["evidence"]


def test_the_other_profile_of_the_group_is_told_by_the_schema(doctor):
    code, findings = doctor(
        "--profile", "cloudkit", "--only", "kube.api", "--only", "crd.computeinstance"
    )
    assert code == 20
    finding = findings["crd.computeinstance"]
    assert "has the schema of profile cloudkit-jobs" in finding["evidence"]
    assert "phases Starting, Running, Failed, Deleting; with status.jobs" in finding["evidence"]
    assert finding["fix"].startswith("run with --profile cloudkit-jobs")


def test_the_operator_deployment_names_the_provider(stack):
    api = k8s_config.new_client_from_config(config_file=stack["KUBECONFIG"])
    deployment = k8s.AppsV1Api(api).read_namespaced_deployment(
        CLOUDKIT_JOBS.operator_deployment, CLOUDKIT_JOBS.operator_namespace
    )
    env = {e.name: e.value for e in deployment.spec.template.spec.containers[0].env}
    assert env[CLOUDKIT_JOBS.operator_env.provider] == "aap"
    assert env[CLOUDKIT_JOBS.operator_env.namespace] == CLOUDKIT_JOBS.hub_namespace
