"""`python -m harness doctor` on the embedded stack: healthy, every check passes; each broken
state of the original status report, seeded into the stack, is named by its check with the
evidence and an actionable fix, and a blocking failure exits 20. The stack is shared by the
module; each test puts back what it broke."""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from harness.commands.cli import main
from harness.contract import embedded
from harness.contract.profiles import OSAC
from harness.doctor.checks import CHECKS
from harness.reference.stack import StackOptions, launch
from tests.endpoints import answering, closed_port
from tests.environ import drop_harness_settings

OPERATOR_NS, OPERATOR = OSAC.operator_namespace, OSAC.operator_deployment
OPERATOR_USER = f"system:serviceaccount:{OPERATOR_NS}:controller-manager"
HARNESS_USER = "system:serviceaccount:harness:e2e"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    state = tmp_path_factory.mktemp("doctor-stack")
    running = launch(StackOptions(state_dir=state))
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
        captured = capsys.readouterr()
        report = json.loads(captured.out) if captured.out.strip() else None
        findings = {f["id"]: f for f in report["checks"]} if report else {}
        return code, findings, captured.err

    return run


@pytest.fixture(scope="module")
def api(stack):
    return k8s_config.new_client_from_config(config_file=stack["KUBECONFIG"])


@pytest.fixture(scope="module")
def custom(api):
    return k8s.CustomObjectsApi(api)


@contextlib.contextmanager
def changed(custom, group, version, namespace, plural, name, spec_patch=None, status=None):
    """Merge-patch an object (status through /status), and put it back as it was."""
    before = custom.get_namespaced_custom_object(group, version, namespace, plural, name)
    try:
        if spec_patch:
            custom.patch_namespaced_custom_object(
                group, version, namespace, plural, name, spec_patch
            )
        if status:
            custom.patch_namespaced_custom_object_status(
                group, version, namespace, plural, name, {"status": status}
            )
        yield
    finally:
        current = custom.get_namespaced_custom_object(group, version, namespace, plural, name)
        restored = copy.deepcopy(before)
        restored["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        current = custom.replace_namespaced_custom_object(
            group, version, namespace, plural, name, restored
        )
        restored["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        custom.replace_namespaced_custom_object_status(
            group, version, namespace, plural, name, restored
        )


def operator_changed(custom, spec_patch=None, status=None):
    return changed(custom, "apps", "v1", OPERATOR_NS, "deployments", OPERATOR, spec_patch, status)


def operator_env(custom, env):
    container = {"name": "manager", "env": env}
    return operator_changed(custom, {"spec": {"template": {"spec": {"containers": [container]}}}})


def current_env(custom):
    deployment = custom.get_namespaced_custom_object(
        "apps", "v1", OPERATOR_NS, "deployments", OPERATOR
    )
    return deployment["spec"]["template"]["spec"]["containers"][0]["env"]


@contextlib.contextmanager
def access_rule(custom, body):
    custom.create_cluster_custom_object(
        embedded.GROUP, embedded.VERSION, embedded.ACCESS_RULE_PLURAL, body
    )
    try:
        yield
    finally:
        custom.delete_cluster_custom_object(
            embedded.GROUP, embedded.VERSION, embedded.ACCESS_RULE_PLURAL, body["metadata"]["name"]
        )


def verdicts(findings):
    return {check: finding["verdict"] for check, finding in findings.items()}


# --- healthy ------------------------------------------------------------------------------


def test_healthy_embedded_stack_passes_every_check(doctor):
    code, findings, _ = doctor()
    assert code == 0
    assert set(verdicts(findings).values()) == {"pass"}, findings
    assert len(findings) == len(CHECKS)


def test_table_output_names_every_check_and_the_readiness(stack, doctor, capsys, monkeypatch):
    capsys.readouterr()
    assert main(["doctor", "--only", "kube.api", "--only", "crd.computeinstance"]) == 0
    out = capsys.readouterr().out
    assert "kube.api" in out and "crd.computeinstance" in out and "PASS" in out
    assert out.rstrip().endswith("environment ready")


# --- Kubernetes ---------------------------------------------------------------------------


def test_unreachable_kubernetes_api_fails_and_skips_what_depends_on_it(doctor, tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "clusters": [
                    {"name": "c", "cluster": {"server": f"http://127.0.0.1:{closed_port()}"}}
                ],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    code, findings, _ = doctor(
        "--kubeconfig",
        str(kubeconfig),
        "--only",
        "kube.api",
        "--only",
        "kube.access",
        "--only",
        "operator.deployment",
    )
    assert code == 20
    assert findings["kube.api"]["verdict"] == "fail"
    assert "unreachable" in findings["kube.api"]["evidence"]
    assert "kubeconfig" in findings["kube.api"]["fix"]
    assert findings["kube.access"]["verdict"] == "skip"
    assert findings["operator.deployment"]["evidence"] == "needs kube.api"


def test_bad_settings_are_a_usage_error(doctor, tmp_path):
    code, findings, err = doctor("--kubeconfig", str(tmp_path / "absent"))
    assert code == 4 and not findings
    assert err.strip().count("\n") == 0 and "--kubeconfig" in err
    code, _, err = doctor("--only", "no.such.check")
    assert code == 4 and "unknown check" in err


def test_missing_permission_is_named_with_the_verb(doctor, custom):
    rule = embedded.deny_rule(
        "doctor-no-vm-watch", "watch", "kubevirt.io", "virtualmachines", users=HARNESS_USER
    )
    with access_rule(custom, rule):
        code, findings, _ = doctor("--only", "kube.api", "--only", "kube.access")
    assert code == 20
    finding = findings["kube.access"]
    assert finding["verdict"] == "fail"
    assert "watch virtualmachines.kubevirt.io in all namespaces" in finding["evidence"]
    assert "doctor-no-vm-watch" in finding["evidence"]
    assert "jobs/base/rbac" in finding["fix"]


def test_missing_evidence_reads_warn_and_fail_when_required(doctor, custom):
    rule = embedded.deny_rule("doctor-no-events", "list", "", "events", users=HARNESS_USER)
    only = ("--only", "kube.api", "--only", "kube.evidence")
    with access_rule(custom, rule):
        code, findings, _ = doctor(*only)
        assert code == 0
        assert findings["kube.evidence"]["verdict"] == "warn"
        assert "list events in all namespaces" in findings["kube.evidence"]["evidence"]
        code, findings, _ = doctor(*only, "--require-evidence")
    assert code == 20
    assert findings["kube.evidence"]["verdict"] == "fail"
    assert "jobs/base/rbac-evidence.yaml" in findings["kube.evidence"]["fix"]
    code, findings, _ = doctor(*only, "--require-evidence")
    assert code == 0, findings


def test_a_read_the_doctor_is_refused_is_named_not_a_traceback(doctor, custom):
    rule = embedded.deny_rule(
        "doctor-no-kubevirt-list", "list", "kubevirt.io", "kubevirts", users=HARNESS_USER
    )
    with access_rule(custom, rule):
        code, findings, _ = doctor("--only", "kube.api", "--only", "kubevirt.ready")
    assert code == 20
    finding = findings["kubevirt.ready"]
    assert finding["verdict"] == "fail"
    assert finding["evidence"].startswith("the API server refused a read this check needs")
    assert "HTTP 403" in finding["evidence"] and "kubevirts" in finding["evidence"]
    assert "Traceback" not in finding["evidence"] and "\n" not in finding["evidence"]
    assert "grant the harness's identity" in finding["fix"]


def test_wrong_profile_names_the_era_the_cluster_has(doctor):
    code, findings, _ = doctor(
        "--profile", "cloudkit", "--only", "kube.api", "--only", "crd.computeinstance"
    )
    assert code == 20
    finding = findings["crd.computeinstance"]
    assert "computeinstances.osac.openshift.io (profile osac)" in finding["evidence"]
    assert finding["fix"].startswith("run with --profile osac")


def test_kubevirt_not_ready(doctor, custom):
    status = {
        "phase": "Deploying",
        "conditions": [
            {
                "type": "Available",
                "status": "False",
                "reason": "DeploymentInProgress",
                "message": "virt-handler not ready",
            }
        ],
    }
    with changed(custom, "kubevirt.io", "v1", "kubevirt", "kubevirts", "kubevirt", status=status):
        code, findings, _ = doctor("--only", "kube.api", "--only", "kubevirt.ready")
    assert code == 20
    assert "phase 'Deploying'" in findings["kubevirt.ready"]["evidence"]
    assert "virt-handler not ready" in findings["kubevirt.ready"]["evidence"]


def test_kubernetes_without_kubevirt_or_operator(start_apiserver, doctor):
    from harness.reference.crds import crd_paths

    bare = start_apiserver(crds=crd_paths(OSAC)[:1])
    code, findings, _ = doctor("--kubeconfig", str(bare.kubeconfig), "--via", "cr", "--tenant", "t")
    assert code == 20
    assert findings["crd.computeinstance"]["verdict"] == "pass"
    assert findings["crd.kubevirt"]["verdict"] == "fail"
    assert "install KubeVirt" in findings["crd.kubevirt"]["fix"]
    assert findings["operator.deployment"]["verdict"] == "fail"
    assert f"no Deployment {OPERATOR_NS}/{OPERATOR}" in findings["operator.deployment"]["evidence"]
    assert findings["operator.env"]["verdict"] == "skip"
    assert findings["operator.api-admin"]["verdict"] == "skip"
    assert findings["api.reachable"]["verdict"] == "skip"


# --- operator -----------------------------------------------------------------------------


def test_operator_not_ready(doctor, custom):
    status = {
        "readyReplicas": 0,
        "conditions": [
            {
                "type": "Available",
                "status": "False",
                "reason": "MinimumReplicasUnavailable",
                "message": "Deployment does not have minimum availability.",
            }
        ],
    }
    with operator_changed(custom, status=status):
        code, findings, _ = doctor(
            "--only", "kube.api", "--only", "operator.deployment", "--only", "operator.env"
        )
    assert code == 20
    assert "0/1 replicas ready" in findings["operator.deployment"]["evidence"]
    assert "describe deployment" in findings["operator.deployment"]["fix"]
    assert findings["operator.env"]["evidence"] == "needs operator.deployment"


def test_operator_deployment_elsewhere_is_found_by_flag(doctor):
    code, findings, _ = doctor(
        "--only",
        "kube.api",
        "--only",
        "operator.deployment",
        "--operator-deployment",
        "cloudkit-operator-controller-manager",
    )
    assert code == 20
    assert "--operator-deployment" in findings["operator.deployment"]["fix"]


def test_personal_registry_image_warns_and_an_unexpected_release_fails(doctor, custom):
    image = "quay.io/jdoe/osac-operator:restart-fix"
    container = {"name": "manager", "image": image}
    with operator_changed(custom, {"spec": {"template": {"spec": {"containers": [container]}}}}):
        code, findings, _ = doctor(
            "--only", "kube.api", "--only", "operator.deployment", "--only", "operator.images"
        )
        assert code == 0
        assert findings["operator.images"]["verdict"] == "warn"
        assert "quay.io/jdoe/" in findings["operator.images"]["evidence"]
        code, findings, _ = doctor(
            "--only",
            "kube.api",
            "--only",
            "operator.deployment",
            "--only",
            "operator.images",
            "--expected-release",
            "912735a",
        )
        # Another build than the release asked for: the run would not test it, so it blocks.
        assert code == 20
        assert findings["operator.images"]["verdict"] == "fail"
        assert findings["operator.images"]["blocking"] is True
        assert (
            "'restart-fix', expected release '912735a'" in findings["operator.images"]["evidence"]
        )
        code, findings, _ = doctor(
            "--only",
            "kube.api",
            "--only",
            "operator.deployment",
            "--only",
            "operator.images",
            "--trusted-org",
            "jdoe",
        )
        assert findings["operator.images"]["verdict"] == "pass"


def test_environment_names_of_another_release_are_named_with_their_replacement(doctor, custom):
    env = [
        {"name": "CLOUDKIT_VM_CREATE_WEBHOOK", "value": "http://eda:5000/create-vm"},
        {"name": "CLOUDKIT_COMPUTE_INSTANCE_PROVISION_WEBHOOK", "value": "http://eda:5000/x"},
        {"name": "OSAC_COMPUTE_INSTANCE_NAMESPACE", "value": OSAC.hub_namespace},
    ]
    with operator_env(custom, env):
        code, findings, _ = doctor(
            "--only", "kube.api", "--only", "operator.deployment", "--only", "operator.env"
        )
    assert code == 20
    evidence = findings["operator.env"]["evidence"]
    assert "CLOUDKIT_VM_CREATE_WEBHOOK (pre-ComputeInstance name" in evidence
    assert (
        "CLOUDKIT_COMPUTE_INSTANCE_PROVISION_WEBHOOK (release cloudkit, 2026-02-11 to 02-16; "
        "this CRD's operator reads OSAC_COMPUTE_INSTANCE_PROVISION_WEBHOOK)" in evidence
    )
    assert "OSAC_COMPUTE_INSTANCE_PROVISION_WEBHOOK" in findings["operator.env"]["fix"]


@pytest.mark.parametrize(
    ("answer", "expected", "fix"),
    [
        (405, "answers POST with 405 Method Not Allowed", "/create-compute-instance"),
        (404, "answers POST with 404 Not Found", "/create-compute-instance"),
        (None, "connection refused", "EDA service name and port"),
    ],
)
def test_webhook_answers_are_each_named(doctor, custom, answer, expected, fix):
    provision = OSAC.operator_env.provision_webhook
    with contextlib.ExitStack() as stack:
        if answer == 405:
            url = stack.enter_context(answering(405)) + "/create-vm"
        elif answer == 404:
            reference = next(e["value"] for e in current_env(custom) if e["name"] == provision)
            url = reference.rsplit("/", 1)[0] + "/create-vm"
        else:
            url = f"http://127.0.0.1:{closed_port()}/create-compute-instance"
        env = [
            e if e["name"] != provision else {"name": provision, "value": url}
            for e in current_env(custom)
        ]
        stack.enter_context(
            operator_changed(
                custom,
                {"spec": {"template": {"spec": {"containers": [{"name": "manager", "env": env}]}}}},
            )
        )
        code, findings, _ = doctor(
            "--only", "kube.api", "--only", "operator.deployment", "--only", "operator.webhooks"
        )
    assert code == 20
    finding = findings["operator.webhooks"]
    assert finding["verdict"] == "fail"
    assert f"{provision} {url}" in finding["evidence"] and expected in finding["evidence"]
    assert fix in finding["fix"]


def test_no_webhook_set_means_no_provisioning(doctor, custom):
    env = [{"name": "OSAC_COMPUTE_INSTANCE_NAMESPACE", "value": OSAC.hub_namespace}]
    with operator_env(custom, env):
        code, findings, _ = doctor(
            "--only", "kube.api", "--only", "operator.deployment", "--only", "operator.webhooks"
        )
        assert code == 20
        assert "no webhook URL set" in findings["operator.webhooks"]["evidence"]
    with operator_env(custom, [*env, {"name": "OSAC_PROVISIONING_PROVIDER", "value": "aap"}]):
        code, findings, _ = doctor(
            "--only", "kube.api", "--only", "operator.deployment", "--only", "operator.webhooks"
        )
        assert code == 0 and findings["operator.webhooks"]["verdict"] == "skip"


def test_operator_without_vmi_delete_permission(doctor, custom):
    rule = embedded.deny_rule(
        "doctor-no-vmi-delete",
        "delete",
        "kubevirt.io",
        "virtualmachineinstances",
        users=OPERATOR_USER,
    )
    with access_rule(custom, rule):
        code, findings, _ = doctor(
            "--only", "kube.api", "--only", "operator.deployment", "--only", "operator.vmi-delete"
        )
    assert code == 20
    finding = findings["operator.vmi-delete"]
    assert (
        f"{OPERATOR_USER} may not delete virtualmachineinstances.kubevirt.io" in finding["evidence"]
    )
    assert "RestartFailed/VMIDeletionFailed" in finding["evidence"]
    assert "grant delete" in finding["fix"]


def test_operator_missing_from_the_api_admins(doctor, custom):
    config = custom.get_namespaced_custom_object(
        "authorino.kuadrant.io", "v1beta2", OSAC.hub_namespace, "authconfigs", "fulfillment-service"
    )
    rule = config["spec"]["authorization"]["admins-only-for-private-methods"]["opa"]["rego"]
    patch = {
        "spec": {
            "authorization": {
                "admins-only-for-private-methods": {
                    "opa": {"rego": rule.replace(OPERATOR_USER, "system:serviceaccount:x:someone")}
                }
            }
        }
    }
    with changed(
        custom,
        "authorino.kuadrant.io",
        "v1beta2",
        OSAC.hub_namespace,
        "authconfigs",
        "fulfillment-service",
        spec_patch=patch,
    ):
        code, findings, _ = doctor(
            "--only", "kube.api", "--only", "operator.deployment", "--only", "operator.api-admin"
        )
    assert code == 20
    finding = findings["operator.api-admin"]
    assert f"{OPERATOR_USER} is not among the admin subjects" in finding["evidence"]
    assert "feedback" in finding["evidence"] and f"add {OPERATOR_USER}" in finding["fix"]


# --- fulfillment API ----------------------------------------------------------------------


def test_rejected_api_token(doctor):
    code, findings, _ = doctor(
        "--only", "api.reachable", "--only", "api.private", "--api-token", "not-a-token"
    )
    assert code == 20
    assert "rejected the token" in findings["api.reachable"]["evidence"]
    assert "--api-token" in findings["api.reachable"]["fix"]
    assert findings["api.private"]["verdict"] == "skip"


def test_api_tls_not_as_configured(doctor, monkeypatch):
    monkeypatch.setenv("HARNESS_API_CA", "")
    code, findings, _ = doctor("--only", "api.reachable", "--api-plaintext")
    assert code == 20
    assert "unreachable or refused TLS" in findings["api.reachable"]["evidence"]


def test_private_methods_need_an_admin_token(doctor, stack):
    code, findings, _ = doctor(
        "--only",
        "api.reachable",
        "--only",
        "api.private",
        "--admin-token",
        stack["HARNESS_API_TOKEN"],
    )
    assert code == 20
    assert "PERMISSION_DENIED" in findings["api.private"]["evidence"]
    assert "admin subject" in findings["api.private"]["fix"]


def test_unreadable_crds_fall_back_to_discovery(doctor, custom):
    rule = embedded.deny_rule(
        "doctor-no-crd-get",
        "get",
        "apiextensions.k8s.io",
        "customresourcedefinitions",
        users=HARNESS_USER,
    )
    with access_rule(custom, rule):
        code, findings, _ = doctor("--only", "kube.api", "--only", "crd.computeinstance")
        assert code == 0
        assert "discovery" in findings["crd.computeinstance"]["evidence"]
        code, findings, _ = doctor(
            "--profile", "cloudkit", "--only", "kube.api", "--only", "crd.computeinstance"
        )
        assert code == 20
        assert findings["crd.computeinstance"]["fix"].startswith("run with --profile osac")


# --- what the suites assume ---------------------------------------------------------------


def test_a_hub_namespace_that_does_not_exist_is_named_with_the_one_that_does(doctor):
    code, findings, _ = doctor("--namespace", "no-such-hub")
    assert code == 20
    finding = findings["kube.namespaces"]
    assert finding["verdict"] == "fail"
    assert finding["evidence"].startswith(
        "hub namespace no-such-hub (--namespace, HARNESS_NAMESPACE) does not exist; profile "
        f"osac's hub namespace {OSAC.hub_namespace} does"
    )
    assert f"pass --namespace {OSAC.hub_namespace}" in finding["fix"]
    # What asks about that namespace waits for it; the rest still passes.
    assert findings["kube.access"]["evidence"] == "needs kube.namespaces"
    assert findings["api.agreement"]["evidence"] == "needs kube.namespaces"
    assert {c for c, v in verdicts(findings).items() if v != "pass"} == {
        "kube.namespaces",
        "kube.access",
        "api.agreement",
    }


def test_an_identity_that_may_not_read_namespaces_is_told_which_grant(doctor, custom):
    rule = embedded.deny_rule("doctor-no-ns-get", "get", "", "namespaces", users=HARNESS_USER)
    with access_rule(custom, rule):
        code, findings, _ = doctor("--only", "kube.namespaces")
    assert code == 20
    finding = findings["kube.namespaces"]
    assert finding["evidence"].startswith(
        f"cannot tell whether hub namespace {OSAC.hub_namespace} exists: our identity may not "
        "get namespaces in all namespaces (HTTP 403"
    )
    assert "jobs/base/rbac-doctor.yaml" in finding["fix"]


def test_only_runs_what_a_check_needs_too(doctor):
    code, findings, _ = doctor("--only", "kube.access")
    assert code == 0
    assert list(findings) == ["kube.api", "kube.namespaces", "kube.access"]


def test_a_token_the_server_does_not_accept_is_named_with_its_fix(doctor, stack, tmp_path):
    config = yaml.safe_load(Path(stack["KUBECONFIG"]).read_text())
    config["users"][0]["user"]["token"] = "revoked"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps(config))
    code, findings, _ = doctor("--kubeconfig", str(kubeconfig), "--only", "kube.api")
    assert code == 20
    finding = findings["kube.api"]
    assert "does not accept our credentials (HTTP 401" in finding["evidence"]
    assert "mint a fresh token" in finding["fix"]


@contextlib.contextmanager
def api_instance(custom):
    """One instance created through the fulfillment API (settings from the environment), and
    deleted again, its CR gone."""
    from harness.clients.fulfillment_api import FulfillmentClient, InstanceSpec
    from harness.config import load_settings
    from tests.controlplane.pod_on_host import wait_for

    client = FulfillmentClient(load_settings({}))
    instance = client.create(InstanceSpec())
    try:
        yield instance.id
    finally:
        client.delete(instance.id)
        client.close()

        def gone():
            listed = custom.list_namespaced_custom_object(
                OSAC.group, OSAC.version, OSAC.hub_namespace, OSAC.plural,
                label_selector=f"{OSAC.uuid_label}={instance.id}",
            )  # fmt: skip
            return not listed["items"]

        wait_for(f"the CR of instance {instance.id} gone", gone)


def test_the_api_and_the_cluster_agree_on_where_instances_are(doctor, custom):
    code, findings, _ = doctor("--only", "api.agreement")
    assert code == 0 and "lists no instance" in findings["api.agreement"]["evidence"]
    with api_instance(custom) as instance_id:
        code, findings, _ = doctor("--only", "api.agreement")
        assert code == 0
        assert findings["api.agreement"]["evidence"] == (
            f"the 1 instances the fulfillment API lists are {OSAC.crd_name} CRs in "
            f"{OSAC.hub_namespace}"
        )
        # An existing namespace, but not the one the API's CRs are in.
        code, findings, _ = doctor("--only", "api.agreement", "--namespace", "tenant-harness")
    assert code == 20
    finding = findings["api.agreement"]
    assert finding["verdict"] == "fail"
    assert finding["evidence"] == (
        f"1 of the 1 instances the fulfillment API lists (e.g. {instance_id}) have no "
        f"{OSAC.crd_name} CR in tenant-harness; their CRs are {OSAC.crd_name} in "
        f"{OSAC.hub_namespace}"
    )
    assert finding["fix"].startswith(f"run with --namespace {OSAC.hub_namespace}")
