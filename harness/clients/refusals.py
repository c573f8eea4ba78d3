"""Making the API server refuse one kind of request on one object, to everyone but the harness.

What a fault test arranges: a VMI delete refused (as an operator missing RBAC `delete` on
virtualmachineinstances would meet it), a status write lost (as if the operator crashed between
its delete and its write). Two mechanisms, chosen by what the server offers:

- the embedded API server's AccessRule (`harness.contract.embedded`), in effect at once;
- a ValidatingAdmissionPolicy and its binding (admissionregistration.k8s.io/v1, GA since
  Kubernetes 1.30), as on any real cluster: it matches the object by namespace and name and
  every user but the harness, and denies with reason Forbidden, so the refusal reads like
  missing RBAC ("… is forbidden: ValidatingAdmissionPolicy … denied request: …"). The API
  server loads a policy a moment after it is created; the refusal is awaited with a dry-run
  request (nothing stored) made as another user, who may do anything else.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness.clients.kubernetes_api import KubeClient
from harness.clients.resources import (
    ACCESS_RULE,
    ADMISSION_POLICY,
    ADMISSION_POLICY_BINDING,
    KubeError,
    Resource,
)
from harness.contract import embedded

ACCESS_RULES = "accessrule"
ADMISSION_POLICIES = "admission-policy"
ACTIVE_TIMEOUT = 30.0
# A user the harness acts as to see the policy refuse: unlike the harness, it is not exempt.
PROBE_USER = "harness:refusal-probe"
_OPERATIONS = {"create": "CREATE", "update": "UPDATE", "patch": "UPDATE", "delete": "DELETE"}


class RefusalUnavailable(RuntimeError):
    """The server offers no way to refuse a request that the harness may use; says why."""


@dataclass(frozen=True)
class Refusal:
    """One kind of request on one object: `verbs` on `resource` (`plural` or
    `plural/subresource`) named `name` in `namespace`."""

    name: str
    verbs: tuple[str, ...]
    target: Resource
    subresource: str
    namespace: str
    object_name: str

    @property
    def resource(self) -> str:
        plural = self.target.plural
        return f"{plural}/{self.subresource}" if self.subresource else plural


class Refusals:
    def __init__(self, kube: KubeClient) -> None:
        self.kube = kube
        self._mechanism: str | None = None
        self._me: str | None = None

    def mechanism(self) -> str:
        """Which mechanism this server offers the harness; RefusalUnavailable otherwise."""
        if self._mechanism is None:
            self._mechanism = self._choose()
        return self._mechanism

    def _choose(self) -> str:
        served = self.kube.served_resources(ACCESS_RULE.group, ACCESS_RULE.version) or set()
        if ACCESS_RULE.plural in served:
            return ACCESS_RULES
        policies = self.kube.served_resources(ADMISSION_POLICY.group, ADMISSION_POLICY.version)
        if not policies or ADMISSION_POLICY.plural not in policies:
            raise RefusalUnavailable(
                "the API server serves neither the embedded AccessRule nor "
                "ValidatingAdmissionPolicy (Kubernetes 1.30+)"
            )
        for verb, resource in (
            ("create", ADMISSION_POLICY.plural),
            ("create", ADMISSION_POLICY_BINDING.plural),
            ("impersonate", "users"),
            ("impersonate", "groups"),
        ):
            group = "" if resource in ("users", "groups") else ADMISSION_POLICY.group
            allowed, _ = self.kube.access_review(verb, group, resource)
            if not allowed:
                raise RefusalUnavailable(
                    f"the harness may not {verb} {resource}: it refuses a request with a "
                    "ValidatingAdmissionPolicy and checks it with an impersonated dry run"
                )
        return ADMISSION_POLICIES

    def refuse(
        self,
        verbs: Sequence[str],
        target: Resource,
        namespace: str,
        object_name: str,
        subresource: str = "",
    ) -> Callable[[], None]:
        """Refuse `verbs` on the object to everyone but the harness; returns the undo."""
        suffix = f"-{subresource}" if subresource else ""
        refusal = Refusal(
            name=f"refuse-{target.plural}{suffix}-{object_name}",
            verbs=tuple(verbs),
            target=target,
            subresource=subresource,
            namespace=namespace,
            object_name=object_name,
        )
        if self.mechanism() == ACCESS_RULES:
            return self._access_rule(refusal)
        return self._admission_policy(refusal)

    def _whoami(self) -> str:
        if self._me is None:
            self._me = self.kube.whoami()
        return self._me

    def _access_rule(self, refusal: Refusal) -> Callable[[], None]:
        rule = embedded.deny_rule(
            refusal.name,
            refusal.verbs,
            refusal.target.group,
            refusal.resource,
            namespaces=refusal.namespace,
            names=refusal.object_name,
            except_users=self._whoami(),
        )
        self.kube.create_cluster_object(ACCESS_RULE, rule)
        return lambda: self.kube.delete_cluster_object(ACCESS_RULE, refusal.name)

    def _admission_policy(self, refusal: Refusal) -> Callable[[], None]:
        operations = sorted({_OPERATIONS[verb] for verb in refusal.verbs})
        me = self._whoami()
        policy = {
            "apiVersion": f"{ADMISSION_POLICY.group}/{ADMISSION_POLICY.version}",
            "kind": ADMISSION_POLICY.kind,
            "metadata": {"name": refusal.name},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": [refusal.target.group],
                            "apiVersions": ["*"],
                            "operations": operations,
                            "resources": [refusal.resource],
                        }
                    ]
                },
                "matchConditions": [
                    {
                        "name": "the-object",
                        "expression": f"request.namespace == {_cel(refusal.namespace)} && "
                        f"request.name == {_cel(refusal.object_name)}",
                    },
                    {
                        "name": "not-the-harness",
                        "expression": f"request.userInfo.username != {_cel(me)}",
                    },
                ],
                "validations": [
                    {
                        "expression": "false",
                        "message": f"refused by the harness's test (policy {refusal.name})",
                        "reason": "Forbidden",
                    }
                ],
            },
        }
        binding = {
            "apiVersion": f"{ADMISSION_POLICY_BINDING.group}/{ADMISSION_POLICY_BINDING.version}",
            "kind": ADMISSION_POLICY_BINDING.kind,
            "metadata": {"name": refusal.name},
            "spec": {"policyName": refusal.name, "validationActions": ["Deny"]},
        }
        self.kube.create_cluster_object(ADMISSION_POLICY, policy)
        self.kube.create_cluster_object(ADMISSION_POLICY_BINDING, binding)

        def undo() -> None:
            self.kube.delete_cluster_object(ADMISSION_POLICY_BINDING, refusal.name)
            self.kube.delete_cluster_object(ADMISSION_POLICY, refusal.name)

        try:
            self._await_in_effect(refusal)
        except BaseException:
            undo()
            raise
        return undo

    def _await_in_effect(self, refusal: Refusal) -> None:
        """Until a dry run by another user (one who may do anything else) is refused by it."""
        probe = self.kube.impersonating(PROBE_USER, "system:masters")
        verb = "delete" if "delete" in refusal.verbs else "patch"
        deadline = time.monotonic() + ACTIVE_TIMEOUT
        try:
            while True:
                words = probe.dry_run_refusal(
                    verb,
                    refusal.target,
                    refusal.namespace,
                    refusal.object_name,
                    refusal.subresource,
                )
                if words and refusal.name in words:
                    return
                if time.monotonic() > deadline:
                    raise KubeError(
                        f"ValidatingAdmissionPolicy {refusal.name} was not in effect "
                        f"{ACTIVE_TIMEOUT:.0f} s after it was created (last answer: {words})"
                    )
                time.sleep(0.1)
        finally:
            probe.close()


def _cel(text: str) -> str:
    """A CEL string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
