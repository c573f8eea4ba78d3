"""Impersonation (`kubectl --as`, `--as-group`, `--as-uid`) as kube-apiserver 1.37 answers it,
on the embedded server and a real one.

Each check has two ServiceAccounts of its own: `alice`, who may impersonate nobody, and
`impersonator`, who may impersonate the user `bob` and nobody else. On the real server that is
RBAC (alice has no role; impersonator has `impersonate` on `users` named bob); on the embedded
one, which allows what no AccessRule denies, it is Deny rules for the impersonations the checks
try. The administrator of the server's kubeconfig may impersonate anyone on both.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client, config

from harness.contract.embedded import ACCESS_RULE_PLURAL, DENY, GROUP, VERSION, access_rule

from .helpers import eventually, unique
from .https_client import Endpoint, kubectl, last_line, service_account_token

RBAC_GROUP = "rbac.authorization.k8s.io"


@dataclass
class Cast:
    """The check's namespace, its two accounts' tokens and user names."""

    endpoint: Endpoint
    namespace: str
    tokens: dict[str, str]

    def user(self, who: str) -> str:
        return f"system:serviceaccount:{self.namespace}:{who}"

    def kubeconfig(self, directory: Path, who: str) -> Path:
        return self.endpoint.kubeconfig(directory / f"{who}.kubeconfig", self.tokens[who])


@pytest.fixture
def cast(server) -> Iterator[Cast]:
    api = config.new_client_from_config(str(server.kubeconfig))
    core = client.CoreV1Api(api)
    namespace = unique("impersonation")
    core.create_namespace({"metadata": {"name": namespace}})
    tokens = {who: service_account_token(api, namespace, who) for who in ("alice", "impersonator")}
    found = Cast(Endpoint.of(server.kubeconfig), namespace, tokens)
    grants = _real_grants if server.kind == "real" else _embedded_grants
    try:
        with grants(api, found):
            yield found
    finally:
        with contextlib.suppress(client.ApiException):
            core.delete_namespace(namespace)


@contextlib.contextmanager
def _real_grants(api: client.ApiClient, cast: Cast) -> Iterator[None]:
    rbac = client.RbacAuthorizationV1Api(api)
    name = cast.namespace
    rbac.create_cluster_role(
        {
            "metadata": {"name": name},
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["users"],
                    "verbs": ["impersonate"],
                    "resourceNames": ["bob"],
                }
            ],
        }
    )
    rbac.create_cluster_role_binding(
        {
            "metadata": {"name": name},
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": name},
            "subjects": [
                {"kind": "ServiceAccount", "name": "impersonator", "namespace": cast.namespace}
            ],
        }
    )
    try:
        # RBAC applies a binding from its informer's next event: wait until it does.
        review = {
            "spec": {
                "user": cast.user("impersonator"),
                "resourceAttributes": {"verb": "impersonate", "resource": "users", "name": "bob"},
            }
        }
        authorization = client.AuthorizationV1Api(api)
        eventually(lambda: _allowed(authorization.create_subject_access_review(review)))
        yield
    finally:
        with contextlib.suppress(client.ApiException):
            rbac.delete_cluster_role_binding(name)
        with contextlib.suppress(client.ApiException):
            rbac.delete_cluster_role(name)


def _allowed(review: client.V1SubjectAccessReview) -> None:
    assert review.status.allowed, review.status


@contextlib.contextmanager
def _embedded_grants(api: client.ApiClient, cast: Cast) -> Iterator[None]:
    custom = client.CustomObjectsApi(api)
    rules = [
        access_rule(
            f"{cast.namespace}-alice",
            effect=DENY,
            verbs="impersonate",
            api_groups="*",
            resources="*",
            users=cast.user("alice"),
        ),
        access_rule(
            f"{cast.namespace}-impersonator",
            effect=DENY,
            verbs="impersonate",
            api_groups="",
            resources=["users", "groups", "serviceaccounts"],
            names=["carol", "devs", "robot"],
            users=cast.user("impersonator"),
        ),
    ]
    for rule in rules:
        custom.create_cluster_custom_object(GROUP, VERSION, ACCESS_RULE_PLURAL, rule)
    try:
        yield
    finally:
        for rule in rules:
            with contextlib.suppress(client.ApiException):
                custom.delete_cluster_custom_object(
                    GROUP, VERSION, ACCESS_RULE_PLURAL, rule["metadata"]["name"]
                )


def _forbidden_message(cast: Cast, who: str, **headers: str) -> str:
    answer = cast.endpoint.request(
        "GET", "/api/v1/namespaces", token=cast.tokens[who], headers=headers
    )
    assert answer.status == 403, answer.body
    return str(answer.json()["message"])


def test_a_caller_who_may_not_impersonate_is_refused_in_the_first_mode_tried(cast):
    """who may impersonate nobody is refused with the first mode kube-apiserver tries: the
    user-info, service-account or node mode's `impersonate-on:<mode>:<verb>` on the request"""
    alice = cast.user("alice")
    mode = 'namespaces is forbidden: User "{}" cannot impersonate-on:{}:list resource "namespaces"'
    where = ' in API group "" at the cluster scope'
    assert _forbidden_message(cast, "alice", **{"Impersonate-User": "bob"}) == (
        mode.format(alice, "user-info") + where
    )
    assert _forbidden_message(
        cast, "alice", **{"Impersonate-User": "bob", "Impersonate-Group": "devs"}
    ) == (mode.format(alice, "user-info") + where)
    robot = f"system:serviceaccount:{cast.namespace}:robot"
    assert _forbidden_message(cast, "alice", **{"Impersonate-User": robot}) == (
        mode.format(alice, "serviceaccount") + where
    )
    assert _forbidden_message(cast, "alice", **{"Impersonate-User": "system:node:n1"}) == (
        mode.format(alice, "arbitrary-node") + where
    )


def test_a_service_account_with_groups_is_asked_in_the_legacy_mode_only(cast):
    """a service account with groups fits no constrained mode: the legacy `impersonate` on
    `serviceaccounts` is what refuses it"""
    robot = f"system:serviceaccount:{cast.namespace}:robot"
    headers = {"Impersonate-User": robot, "Impersonate-Group": "devs"}
    assert _forbidden_message(cast, "alice", **headers) == (
        f'serviceaccounts "robot" is forbidden: User "{cast.user("alice")}" cannot impersonate '
        f'resource "serviceaccounts" in API group "" in the namespace "{cast.namespace}"'
    )


def test_a_refused_non_resource_request_names_its_path(cast):
    answer = cast.endpoint.request(
        "GET", "/apis", token=cast.tokens["alice"], headers={"Impersonate-User": "bob"}
    )
    assert (answer.status, answer.json()["message"], answer.json()["details"]) == (
        403,
        f'forbidden: User "{cast.user("alice")}" cannot impersonate-on:user-info:get path "/apis"',
        {},
    )


def test_after_an_impersonation_the_mode_that_allowed_it_answers_first(cast, tmp_path):
    """kube-apiserver remembers per caller the mode that last let it impersonate and tries it
    first: once the impersonator has been bob (legacy `impersonate`), refusals are legacy ones"""
    impersonator = cast.user("impersonator")
    assert _forbidden_message(cast, "impersonator", **{"Impersonate-User": "carol"}) == (
        f'namespaces is forbidden: User "{impersonator}" cannot impersonate-on:user-info:list '
        'resource "namespaces" in API group "" at the cluster scope'
    )
    whoami = kubectl(cast.kubeconfig(tmp_path, "impersonator"), "--as", "bob", "auth", "whoami")
    assert whoami.returncode == 0, whoami.stderr
    assert whoami.stdout.splitlines() == [
        "ATTRIBUTE   VALUE",
        "Username    bob",
        "Groups      [system:authenticated]",
    ]
    assert _forbidden_message(cast, "impersonator", **{"Impersonate-User": "carol"}) == (
        f'users "carol" is forbidden: User "{impersonator}" cannot impersonate resource "users" '
        'in API group "" at the cluster scope'
    )
    assert _forbidden_message(
        cast, "impersonator", **{"Impersonate-User": "bob", "Impersonate-Group": "devs"}
    ) == (
        f'groups "devs" is forbidden: User "{impersonator}" cannot impersonate resource "groups" '
        'in API group "" at the cluster scope'
    )


def test_kubectl_as_through_a_refusal(cast, tmp_path):
    """kubectl prints the refusal of an imperative create (sent in protobuf, answered so)"""
    result = kubectl(
        cast.kubeconfig(tmp_path, "alice"),
        "--as",
        "bob",
        "create",
        "configmap",
        "refused",
        "-n",
        cast.namespace,
    )
    assert result.returncode == 1
    assert last_line(result.stderr) == (
        "error: failed to create configmap: configmaps is forbidden: User "
        f'"{cast.user("alice")}" cannot impersonate-on:user-info:create resource "configmaps" '
        f'in API group "" in the namespace "{cast.namespace}"'
    )


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (
            ["--as", "system:admin"],
            ["Username    system:admin", "Groups      [system:authenticated]"],
        ),
        (
            ["--as", "bob", "--as-group", "g1", "--as-group", "g2"],
            ["Username    bob", "Groups      [g1 g2 system:authenticated]"],
        ),
        (
            ["--as", "bob", "--as-group", "system:authenticated"],
            ["Username    bob", "Groups      [system:authenticated]"],
        ),
        (
            ["--as", "bob", "--as-uid", "u-1"],
            ["Username    bob", "UID         u-1", "Groups      [system:authenticated]"],
        ),
        (
            ["--as", "system:serviceaccount:ns1:robot"],
            [
                "Username    system:serviceaccount:ns1:robot",
                "Groups      [system:serviceaccounts system:serviceaccounts:ns1 "
                "system:authenticated]",
            ],
        ),
    ],
)
def test_kubectl_as_whoami(server, flags, expected):
    """`kubectl --as … auth whoami` by the administrator: the impersonated user, the groups
    asked for (a service account's own without), and `system:authenticated` once"""
    result = kubectl(server.kubeconfig, *flags, "auth", "whoami")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["ATTRIBUTE   VALUE", *expected]


def test_kubectl_as_the_anonymous_user(server):
    """impersonating `system:anonymous` makes the request anonymous, refused like one"""
    result = kubectl(server.kubeconfig, "--as", "system:anonymous", "auth", "whoami")
    assert result.returncode == 1
    assert last_line(result.stderr) == (
        "error: the selfsubjectreviews API is not enabled in the cluster or you do not have "
        "permission to call it"
    )


def test_kubectl_as_system_admin_in_system_masters(server):
    """OSAC's scripts' `kubectl --as system:admin`, with the group that lets it act"""
    result = kubectl(
        server.kubeconfig,
        "--as",
        "system:admin",
        "--as-group",
        "system:masters",
        "get",
        "namespace",
        "default",
        "-o",
        "name",
    )
    assert (result.returncode, result.stdout.strip()) == (0, "namespace/default"), result.stderr


@pytest.mark.parametrize(
    ("headers", "described"),
    [
        (
            {"Impersonate-Group": "devs"},
            'Name:"", UID:"", Groups:[]string{"devs"}, Extra:map[string][]string(nil)',
        ),
        (
            {"Impersonate-Uid": "u1"},
            'Name:"", UID:"u1", Groups:[]string(nil), Extra:map[string][]string(nil)',
        ),
        (
            {"Impersonate-Extra-Scopes": "view"},
            'Name:"", UID:"", Groups:[]string(nil), '
            'Extra:map[string][]string{"scopes":[]string{"view"}}',
        ),
    ],
    ids=["group", "uid", "extra"],
)
def test_impersonating_groups_uid_or_extra_without_a_user_is_400(server, headers, described):
    answer = Endpoint.of(server.kubeconfig).request("GET", "/api/v1/namespaces", headers=headers)
    assert (answer.status, answer.json()["reason"], answer.json()["message"]) == (
        400,
        "BadRequest",
        f"requested &user.DefaultInfo{{{described}}} without impersonating a user name",
    )


def test_anonymous_may_not_impersonate(server):
    answer = Endpoint.of(server.kubeconfig).request(
        "GET", "/version", token=None, headers={"Impersonate-User": "bob"}
    )
    assert (answer.status, answer.json()["message"]) == (
        403,
        'forbidden: User "system:anonymous" cannot impersonate-on:user-info:get path "/version"',
    )


def test_impersonation_is_after_authentication(server):
    """a token nobody issued is 401 before any impersonation header is read"""
    answer = Endpoint.of(server.kubeconfig).request(
        "GET", "/api/v1/namespaces", token="not-a-token", headers={"Impersonate-User": "bob"}
    )
    assert answer.status == 401


def test_what_the_impersonated_user_may_do_is_asked_as_that_user(server):
    """the request is then authorized as the impersonated user: `system:anonymous` in it is
    refused even a list the administrator may do"""
    answer = Endpoint.of(server.kubeconfig).request(
        "GET", "/api/v1/namespaces", headers={"Impersonate-User": "system:anonymous"}
    )
    assert (answer.status, answer.json()["message"]) == (
        403,
        'namespaces is forbidden: User "system:anonymous" cannot list resource "namespaces" in '
        'API group "" at the cluster scope',
    )
