"""`python -m harness doctor` on the real control plane (kube-apiserver, RBAC, controllers, kwok)
running the reference stack, as a user runs it against a cluster: healthy, every check passes;
each broken state of the original status report, seeded through the Kubernetes API the way a
user's cluster would be broken, is named by one finding with its fix and the right exit code,
every other check still passing (or skipped for the premise that failed). One stack serves
the module; each case puts back what it broke and the doctor passes again."""

from __future__ import annotations

import contextlib
import copy
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from harness.clients.kubernetes_api import KubeClient
from harness.clients.resources import KubeError
from harness.contract.profiles import KUBEVIRT_GROUP, KUBEVIRT_VERSION, OSAC, VM_PLURAL, VMI_PLURAL
from harness.doctor.access import doctor_access, evidence_access, required_access
from harness.doctor.checks import CHECKS
from harness.exitcodes import ExitCode
from harness.reference.controlplane.install import Installer
from harness.reference.controlplane.permissions import mint_token
from harness.reference.crds import crd_paths, environment_crd_paths
from harness.reference.stack import StackOptions, launch
from tests.controlplane.pod_on_host import Kubectl, wait_for
from tests.endpoints import answering, closed_port
from tests.environ import without_harness_settings

# One stack for the module: run it without xdist (-n 0), or each worker starts its own.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kubectl"),
]
REPO = Path(__file__).resolve().parents[2]
HUB = OSAC.hub_namespace
TENANT = "tenant-harness"
OPERATOR_NS, OPERATOR = OSAC.operator_namespace, OSAC.operator_deployment
OPERATOR_USER = f"system:serviceaccount:{OPERATOR_NS}:controller-manager"
PROVISION = OSAC.operator_env.provision_webhook
DEPROVISION = OSAC.operator_env.deprovision_webhook
READY, NOT_READY = int(ExitCode.PASSED), int(ExitCode.ENVIRONMENT_NOT_READY)


class Cluster:
    """The stack's connection settings and clients of its real API server."""

    def __init__(self, env: dict[str, str], state: Path) -> None:
        self.env = env
        self.state = state
        self.kubeconfig = Path(env["KUBECONFIG"])
        self.api = k8s_config.new_client_from_config(config_file=str(self.kubeconfig))
        self.apps = k8s.AppsV1Api(self.api)
        self.rbac = k8s.RbacAuthorizationV1Api(self.api)
        self.custom = k8s.CustomObjectsApi(self.api)
        self.extensions = k8s.ApiextensionsV1Api(self.api)
        self.core = k8s.CoreV1Api(self.api)
        self.kube = KubeClient.from_kubeconfig(self.kubeconfig)
        self.kubectl = Kubectl(self.kubeconfig)

    def plain(self, model: Any) -> dict[str, Any]:
        return dict(self.api.sanitize_for_serialization(model))

    def kubeconfig_with(self, name: str, change: Callable[[dict[str, Any]], None]) -> Path:
        """A copy of the stack's kubeconfig, changed as a user's stale or wrong one would be."""
        config = yaml.safe_load(self.kubeconfig.read_text())
        change(config)
        path = self.state / f"{name}.kubeconfig"
        path.write_text(yaml.safe_dump(config))
        return path


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    state = tmp_path_factory.mktemp("doctor-real")
    stack = launch(StackOptions(state_dir=state / "stack", control_plane="real"))
    try:
        env = stack.start()
        running = Cluster(env, state)
        rolled_out(running)
        yield running
        running.kube.close()
        running.api.close()
    finally:
        stack.stop()


# --- the doctor, as a user runs it --------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    verdict: str
    """As the table prints it: PASS, WARN, FAIL, SKIP; `*` when not blocking."""
    evidence: str
    fix: str


def parse_table(out: str) -> dict[str, Finding]:
    """The doctor's table: a finding's line starts with its check id, its wrapped evidence and
    `fix:` continue indented."""
    findings: dict[str, Finding] = {}
    rows: list[list[str]] = []
    for line in out.splitlines()[1:]:
        if not line.strip():
            break
        if line[0] != " ":
            check, verdict, evidence = [*line.split(None, 2), ""][:3]
            rows.append([check, verdict, evidence, ""])
        elif line.strip().startswith("fix: "):
            rows[-1][3] = line.strip()[len("fix: ") :]
        else:
            part = 3 if rows[-1][3] else 2
            rows[-1][part] += " " + line.strip()
    for check, verdict, evidence, fix in rows:
        findings[check] = Finding(verdict, evidence, fix)
    return findings


def doctor(cluster: Cluster, *args: str, env: dict[str, str] | None = None):
    completed = subprocess.run(
        [sys.executable, "-m", "harness", "doctor", "--webhook-timeout", "5", *args],
        cwd=REPO,
        env={
            **without_harness_settings(),
            **cluster.env,
            "HARNESS_TARGET": "cluster",
            "COLUMNS": "160",
            **(env or {}),
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "Traceback" not in completed.stderr, completed.stderr
    return completed.returncode, parse_table(completed.stdout), completed.stdout


def assert_healthy(cluster: Cluster) -> tuple[dict[str, Finding], str]:
    code, findings, out = doctor(cluster)
    assert code == READY, out
    assert list(findings) == [check.id for check in CHECKS], out
    assert {f.verdict.rstrip("*") for f in findings.values()} == {"PASS"}, out
    assert out.rstrip().endswith("environment ready")
    return findings, out


def test_the_healthy_real_stack_passes_every_check(cluster):
    findings, out = assert_healthy(cluster)
    assert "Kubernetes v1.37" in findings["kube.api"].evidence, out
    assert (
        f"{OPERATOR_NS}/{OPERATOR}: 1/1 replicas ready" in findings["operator.deployment"].evidence
    )


# --- seeding faults through the API -------------------------------------------------------


@dataclass
class Seeded:
    """What the doctor is run with on the broken cluster, and words its findings contain."""

    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    words: dict[str, str] = field(default_factory=dict)


Seed = Callable[[Cluster], contextlib.AbstractContextManager[Seeded]]


def rolled_out(cluster: Cluster) -> None:
    """The operator's Deployment has rolled out its template: kwok runs the new pod, the old
    one is gone (what `kubectl rollout status` waits for)."""

    def done() -> bool:
        deployment = cluster.plain(cluster.apps.read_namespaced_deployment(OPERATOR, OPERATOR_NS))
        status, wanted = deployment.get("status") or {}, deployment["spec"]["replicas"]
        return (
            status.get("observedGeneration", 0) >= deployment["metadata"]["generation"]
            and status.get("updatedReplicas") == wanted
            and status.get("readyReplicas") == wanted
            and status.get("replicas") == wanted
        )

    wait_for(f"deployment {OPERATOR} rolled out", done)


@contextlib.contextmanager
def operator_changed(
    cluster: Cluster, change: Callable[[dict[str, Any]], None]
) -> Iterator[dict[str, Any]]:
    """The manager container of the operator's Deployment changed (`change` edits it), rolled
    out, and put back afterwards."""
    before = cluster.plain(cluster.apps.read_namespaced_deployment(OPERATOR, OPERATOR_NS))
    body = copy.deepcopy(before)
    (manager,) = [
        c for c in body["spec"]["template"]["spec"]["containers"] if c["name"] == "manager"
    ]
    change(manager)
    cluster.apps.replace_namespaced_deployment(OPERATOR, OPERATOR_NS, body)
    rolled_out(cluster)
    try:
        yield manager
    finally:
        current = cluster.apps.read_namespaced_deployment(OPERATOR, OPERATOR_NS)
        restored = copy.deepcopy(before)
        restored["metadata"]["resourceVersion"] = current.metadata.resource_version
        cluster.apps.replace_namespaced_deployment(OPERATOR, OPERATOR_NS, restored)
        rolled_out(cluster)


def set_env(manager: dict[str, Any], name: str, value: str) -> None:
    manager["env"] = [
        e if e["name"] != name else {"name": name, "value": value} for e in manager["env"]
    ]


def env_value(manager: dict[str, Any], name: str) -> str:
    return next(str(e["value"]) for e in manager["env"] if e["name"] == name)


@contextlib.contextmanager
def webhook_answering_405(cluster: Cluster) -> Iterator[Seeded]:
    with answering(405) as base:
        url = f"{base}/create-vm"
        with operator_changed(cluster, lambda m: set_env(m, PROVISION, url)):
            yield Seeded(words={"url": url})


@contextlib.contextmanager
def webhook_answering_404(cluster: Cluster) -> Iterator[Seeded]:
    # The stack's own webhook endpoint at the old path, which it does not serve.
    holder: dict[str, str] = {}

    def change(manager: dict[str, Any]) -> None:
        holder["url"] = env_value(manager, PROVISION).rsplit("/", 1)[0] + "/create-vm"
        set_env(manager, PROVISION, holder["url"])

    with operator_changed(cluster, change):
        yield Seeded(words=holder)


@contextlib.contextmanager
def webhook_unreachable(cluster: Cluster) -> Iterator[Seeded]:
    url = f"http://127.0.0.1:{closed_port()}/create-compute-instance"
    with operator_changed(cluster, lambda m: set_env(m, PROVISION, url)):
        yield Seeded(words={"url": url})


@contextlib.contextmanager
def env_of_another_era(cluster: Cluster) -> Iterator[Seeded]:
    """The webhook variables under the cloudkit release's names (their values unchanged)."""
    renamed = {
        PROVISION: "CLOUDKIT_COMPUTE_INSTANCE_PROVISION_WEBHOOK",
        DEPROVISION: "CLOUDKIT_COMPUTE_INSTANCE_DEPROVISION_WEBHOOK",
    }

    def change(manager: dict[str, Any]) -> None:
        manager["env"] = [{**e, "name": renamed.get(e["name"], e["name"])} for e in manager["env"]]

    with operator_changed(cluster, change):
        yield Seeded()


@contextlib.contextmanager
def personal_image(cluster: Cluster) -> Iterator[Seeded]:
    with operator_changed(
        cluster, lambda m: m.update(image="quay.io/jdoe/osac-operator:restart-fix")
    ):
        yield Seeded()


@contextlib.contextmanager
def unexpected_release(cluster: Cluster) -> Iterator[Seeded]:
    with personal_image(cluster):
        yield Seeded(args=["--expected-release", "912735a"])


@contextlib.contextmanager
def operator_not_an_api_admin(cluster: Cluster) -> Iterator[Seeded]:
    where = ("authorino.kuadrant.io", "v1beta2", HUB, "authconfigs", "fulfillment-service")
    before = cluster.custom.get_namespaced_custom_object(*where)
    changed = copy.deepcopy(before)
    rule = changed["spec"]["authorization"]["admins-only-for-private-methods"]["opa"]
    rule["rego"] = rule["rego"].replace(OPERATOR_USER, "system:serviceaccount:x:someone")
    cluster.custom.replace_namespaced_custom_object(*where, changed)
    try:
        yield Seeded()
    finally:
        current = cluster.custom.get_namespaced_custom_object(*where)
        before["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        cluster.custom.replace_namespaced_custom_object(*where, before)


def operator_may_delete_vmis(cluster: Cluster) -> bool:
    answer = cluster.kubectl(
        *("auth", "can-i", "delete", f"{VMI_PLURAL}.{KUBEVIRT_GROUP}", "-n", TENANT),
        f"--as={OPERATOR_USER}",
        check=False,
    )
    return answer.strip().splitlines()[0] == "yes"


@contextlib.contextmanager
def rbac_without_vmi_delete(cluster: Cluster) -> Iterator[Seeded]:
    """The operator's ClusterRole (osac-reference-controller) without delete on VMIs, as the
    generated role was before osac-operator 86d726b."""
    name = "osac-reference-controller"
    before = cluster.plain(cluster.rbac.read_cluster_role(name))
    changed = copy.deepcopy(before)
    for rule in changed["rules"]:
        if rule["resources"] == [VMI_PLURAL]:
            rule["verbs"] = [verb for verb in rule["verbs"] if verb != "delete"]
    cluster.rbac.replace_cluster_role(name, changed)
    wait_for("RBAC without VMI delete", lambda: not operator_may_delete_vmis(cluster))
    try:
        yield Seeded()
    finally:
        before["metadata"]["resourceVersion"] = cluster.rbac.read_cluster_role(
            name
        ).metadata.resource_version
        cluster.rbac.replace_cluster_role(name, before)
        wait_for("RBAC with VMI delete again", lambda: operator_may_delete_vmis(cluster))


def served(cluster: Cluster, group: str, version: str, plural: str) -> bool:
    return plural in (cluster.kube.served_resources(group, version) or set())


@contextlib.contextmanager
def crds_deleted(
    cluster: Cluster, group: str, version: str, plurals: tuple[str, ...]
) -> Iterator[Seeded]:
    """CRDs deleted (`kubectl delete crd`), then installed again from the stack's files."""
    names = [f"{plural}.{group}" for plural in plurals]
    for name in names:
        cluster.extensions.delete_custom_resource_definition(name)
    wait_for(
        f"{', '.join(names)} no longer served",
        lambda: not any(served(cluster, group, version, p) for p in plurals),
    )
    try:
        yield Seeded()
    finally:
        files = [
            path
            for path in (*crd_paths(OSAC), *environment_crd_paths())
            if yaml.safe_load(path.read_text())["metadata"]["name"] in names
        ]
        assert len(files) == len(names), files
        Installer(cluster.api).crds(files)
        wait_for(
            f"{', '.join(names)} served again",
            lambda: all(served(cluster, group, version, p) for p in plurals),
        )


def computeinstance_crd_missing(cluster: Cluster) -> contextlib.AbstractContextManager[Seeded]:
    return crds_deleted(cluster, OSAC.group, OSAC.version, (OSAC.plural,))


def kubevirt_crds_missing(cluster: Cluster) -> contextlib.AbstractContextManager[Seeded]:
    return crds_deleted(cluster, KUBEVIRT_GROUP, KUBEVIRT_VERSION, (VM_PLURAL, VMI_PLURAL))


@contextlib.contextmanager
def api_unreachable(cluster: Cluster) -> Iterator[Seeded]:
    def change(config: dict[str, Any]) -> None:
        config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{closed_port()}"

    yield Seeded(args=["--kubeconfig", str(cluster.kubeconfig_with("unreachable", change))])


@contextlib.contextmanager
def api_certificate_untrusted(cluster: Cluster) -> Iterator[Seeded]:
    """A kubeconfig without the cluster's CA: the real server's certificate is not trusted."""

    def change(config: dict[str, Any]) -> None:
        del config["clusters"][0]["cluster"]["certificate-authority-data"]

    yield Seeded(args=["--kubeconfig", str(cluster.kubeconfig_with("untrusted", change))])


def rejected(kubeconfig: Path) -> bool:
    client = KubeClient.from_kubeconfig(kubeconfig)
    try:
        client.check_reachable()
    except KubeError as error:
        return error.cause == "unauthenticated"
    finally:
        client.close()
    return False


@contextlib.contextmanager
def token_revoked(cluster: Cluster) -> Iterator[Seeded]:
    """A TokenRequest token whose ServiceAccount has since been deleted: the server answers 401."""
    account = k8s.V1ServiceAccount(metadata=k8s.V1ObjectMeta(name="doctor-revoked"))
    cluster.core.create_namespaced_service_account("default", account)
    token = mint_token(cluster.api, "system:serviceaccount:default:doctor-revoked", 3600)
    cluster.core.delete_namespaced_service_account("doctor-revoked", "default")

    def change(config: dict[str, Any]) -> None:
        config["users"][0]["user"] = {"token": token}

    kubeconfig = cluster.kubeconfig_with("revoked", change)
    wait_for("the deleted account's token refused", lambda: rejected(kubeconfig))
    yield Seeded(args=["--kubeconfig", str(kubeconfig)])


@contextlib.contextmanager
def hub_namespace_missing(cluster: Cluster) -> Iterator[Seeded]:
    yield Seeded(env={"HARNESS_NAMESPACE": "osac-compute-instance"})


@contextlib.contextmanager
def identity_without_a_suite_verb(cluster: Cluster) -> Iterator[Seeded]:
    """Our own identity: a ServiceAccount granted everything harness/doctor/access.py lists but
    watch on ComputeInstances."""
    name, user = "doctor-partial", "system:serviceaccount:default:doctor-partial"
    missing = ("watch", OSAC.group, OSAC.plural)
    grants = [
        {"apiGroups": [a.group], "resources": [a.resource], "verbs": [a.verb]}
        for a in (*required_access(OSAC, "api"), *evidence_access(), *doctor_access())
        if (a.verb, a.group, a.resource) != missing
    ]
    account = k8s.V1ServiceAccount(metadata=k8s.V1ObjectMeta(name=name))
    cluster.core.create_namespaced_service_account("default", account)
    role = {"metadata": {"name": name}, "rules": grants}
    cluster.rbac.create_cluster_role(role)
    binding = {
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": "default"}],
    }
    cluster.rbac.create_cluster_role_binding(binding)
    try:
        token = mint_token(cluster.api, user, 3600)

        def change(config: dict[str, Any]) -> None:
            config["users"][0]["user"] = {"token": token}

        kubeconfig = cluster.kubeconfig_with("partial", change)

        def granted() -> bool:
            answer = cluster.kubectl(
                "auth", "can-i", "get", "namespaces", f"--as={user}", check=False
            )
            return answer.strip().splitlines()[0] == "yes"

        wait_for("the partial role bound", granted)
        yield Seeded(args=["--kubeconfig", str(kubeconfig)], words={"user": user})
    finally:
        cluster.rbac.delete_cluster_role_binding(name)
        cluster.rbac.delete_cluster_role(name)
        cluster.core.delete_namespaced_service_account(name, "default")


@contextlib.contextmanager
def api_instances_elsewhere(cluster: Cluster) -> Iterator[Seeded]:
    """An instance created through the fulfillment API, and the suites pointed at an existing
    namespace that is not the one its CR is in."""
    from harness.clients.fulfillment_api import FulfillmentClient, InstanceSpec
    from harness.config import load_settings

    client = FulfillmentClient(load_settings({}, {**cluster.env, "HARNESS_TARGET": "cluster"}))
    instance = client.create(InstanceSpec())
    try:
        yield Seeded(env={"HARNESS_NAMESPACE": TENANT}, words={"id": instance.id})
    finally:
        client.delete(instance.id)
        client.close()

        def gone() -> bool:
            listed = cluster.custom.list_namespaced_custom_object(
                OSAC.group, OSAC.version, HUB, OSAC.plural,
                label_selector=f"{OSAC.uuid_label}={instance.id}",
            )  # fmt: skip
            return not listed["items"]

        wait_for(f"the CR of instance {instance.id} deleted", gone)


# --- each fault, named --------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    name: str
    seed: Seed
    check: str
    verdict: str
    evidence: str
    """Part of the finding's evidence; `{word}`s come from the seed."""
    fix: str
    code: int
    also: tuple[str, ...] = ()
    """Other checks the fault fails too, as a consequence."""


FAULTS = [
    Fault(
        "webhook answers 405",
        webhook_answering_405,
        "operator.webhooks",
        "FAIL",
        f"{PROVISION} {{url}} answers POST with 405 Method Not Allowed",
        "is not the webhook endpoint: EDA's are /create-compute-instance",
        NOT_READY,
    ),
    Fault(
        "webhook answers 404",
        webhook_answering_404,
        "operator.webhooks",
        "FAIL",
        f"{PROVISION} {{url}} answers POST with 404 Not Found",
        "use the rulebook's /create-compute-instance",
        NOT_READY,
    ),
    Fault(
        "webhook unreachable",
        webhook_unreachable,
        "operator.webhooks",
        "FAIL",
        f"{PROVISION} {{url}}: connection refused",
        f"check the EDA service name and port in {PROVISION}",
        NOT_READY,
    ),
    Fault(
        "operator environment of another era",
        env_of_another_era,
        "operator.env",
        "FAIL",
        "CLOUDKIT_COMPUTE_INSTANCE_PROVISION_WEBHOOK (release cloudkit, 2026-02-11 to 02-16; "
        f"this CRD's operator reads {PROVISION})",
        f"names (contract §9.6), e.g. {DEPROVISION}",
        NOT_READY,
    ),
    Fault(
        "operator not among the fulfillment API's admins",
        operator_not_an_api_admin,
        "operator.api-admin",
        "FAIL",
        f"{OPERATOR_USER} is not among the admin subjects of AuthConfig {HUB}/fulfillment-service",
        f"add {OPERATOR_USER} to the admin list of the fulfillment AuthConfig",
        NOT_READY,
    ),
    Fault(
        "image from a personal registry",
        personal_image,
        "operator.images",
        "WARN*",
        "custom image from a personal registry: quay.io/jdoe/osac-operator:restart-fix "
        "(quay.io/jdoe/ is not a project registry account)",
        "deploy the project's image, or pass --trusted-org ACCOUNT",
        READY,
    ),
    Fault(
        "image not of the expected release",
        unexpected_release,
        "operator.images",
        "FAIL",
        "manager tag 'restart-fix', expected release '912735a'",
        "deploy the expected release's image",
        NOT_READY,
    ),
    Fault(
        "operator RBAC without VMI delete",
        rbac_without_vmi_delete,
        "operator.vmi-delete",
        "FAIL",
        f"{OPERATOR_USER} may not delete {VMI_PLURAL}.{KUBEVIRT_GROUP} in {TENANT}: every "
        "restart would end in RestartFailed/VMIDeletionFailed",
        f"grant delete on {VMI_PLURAL} (kubevirt.io) to {OPERATOR_USER}",
        NOT_READY,
    ),
    Fault(
        "ComputeInstance CRD missing",
        computeinstance_crd_missing,
        "crd.computeinstance",
        "FAIL",
        f"no CRD {OSAC.crd_name} (nor any other era's ComputeInstance CRD)",
        "install the operator's CRDs",
        NOT_READY,
        # The reference fulfillment API keeps its instances as those CRs: its List fails.
        also=("api.reachable",),
    ),
    Fault(
        "KubeVirt CRDs missing",
        kubevirt_crds_missing,
        "crd.kubevirt",
        "FAIL",
        f"{KUBEVIRT_GROUP}/{KUBEVIRT_VERSION} does not serve {VM_PLURAL}, {VMI_PLURAL}",
        "install KubeVirt",
        NOT_READY,
    ),
    Fault(
        "Kubernetes API unreachable",
        api_unreachable,
        "kube.api",
        "FAIL",
        "is unreachable: connection refused",
        "nothing answers at that address",
        NOT_READY,
    ),
    Fault(
        "Kubernetes API certificate not trusted",
        api_certificate_untrusted,
        "kube.api",
        "FAIL",
        "presents a certificate we do not trust: [SSL: CERTIFICATE_VERIFY_FAILED]",
        "the kubeconfig's certificate-authority does not sign the server's certificate",
        NOT_READY,
    ),
    Fault(
        "token rejected",
        token_revoked,
        "kube.api",
        "FAIL",
        "does not accept our credentials (HTTP 401 Unauthorized)",
        "mint a fresh token (kubectl create token <service-account>)",
        NOT_READY,
    ),
    Fault(
        "hub namespace does not exist",
        hub_namespace_missing,
        "kube.namespaces",
        "FAIL",
        "hub namespace osac-compute-instance (--namespace, HARNESS_NAMESPACE) does not exist; "
        f"profile osac's hub namespace {HUB} does",
        f"pass --namespace {HUB} (HARNESS_NAMESPACE)",
        NOT_READY,
    ),
    Fault(
        "our identity may not do what the suites do",
        identity_without_a_suite_verb,
        "kube.access",
        "FAIL",
        f"SelfSubjectAccessReview denies: watch {OSAC.plural}.{OSAC.group} in {HUB}",
        "grant the harness's identity these verbs",
        NOT_READY,
    ),
    Fault(
        "the fulfillment API's instances are not in the hub namespace",
        api_instances_elsewhere,
        "api.agreement",
        "FAIL",
        "1 of the 1 instances the fulfillment API lists (e.g. {id}) have no "
        f"{OSAC.crd_name} CR in {TENANT}; their CRs are {OSAC.crd_name} in {HUB}",
        f"run with --namespace {HUB}",
        NOT_READY,
    ),
]


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.name for fault in FAULTS])
def test_each_broken_state_is_named_with_its_fix(cluster, fault):
    with fault.seed(cluster) as seeded:
        code, findings, out = doctor(cluster, *seeded.args, env=seeded.env)
    finding = findings[fault.check]
    assert finding.verdict == fault.verdict, out
    assert fault.evidence.format(**seeded.words) in finding.evidence, out
    assert fault.fix in finding.fix, out
    assert code == fault.code, out
    failed = {check for check, f in findings.items() if f.verdict.startswith("FAIL")}
    assert failed <= {fault.check, *fault.also}, out
    for check, other in findings.items():
        if check in failed or check == fault.check:
            continue
        if other.verdict.startswith("SKIP"):
            # Skipped only because a check it needs did not pass.
            premises = other.evidence.removeprefix("needs ").split(", ")
            assert set(premises) <= failed | skipped(findings), (check, out)
        else:
            assert other.verdict.startswith("PASS"), (check, out)
    # Put back, the cluster is healthy again: the seeded fault was what the doctor saw.
    assert_healthy(cluster)


def skipped(findings: dict[str, Finding]) -> set[str]:
    return {check for check, f in findings.items() if f.verdict.startswith("SKIP")}


def test_the_faults_leave_nothing_behind(cluster):
    """Every seed took away what it made (accounts, roles, instances)."""
    accounts = cluster.core.list_namespaced_service_account("default").items
    assert not [a.metadata.name for a in accounts if a.metadata.name.startswith("doctor-")]
    roles = cluster.rbac.list_cluster_role().items
    assert not [r.metadata.name for r in roles if r.metadata.name.startswith("doctor-")]
    instances = cluster.custom.list_namespaced_custom_object(
        OSAC.group, OSAC.version, HUB, OSAC.plural
    )
    assert not instances["items"]
