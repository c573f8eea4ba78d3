"""Which mechanism makes a server refuse one request, and why there may be none."""

from __future__ import annotations

import pytest

from harness.clients.refusals import (
    ACCESS_RULES,
    ADMISSION_POLICIES,
    Refusals,
    RefusalUnavailable,
)


class FakeKube:
    def __init__(self, served, allowed=()):
        self.served = served
        self.allowed = set(allowed)

    def served_resources(self, group, version):
        return self.served.get(group)

    def access_review(self, verb, group, resource, **_):
        return (verb, resource) in self.allowed, ""


ADMISSION = "admissionregistration.k8s.io"
POLICIES = {"validatingadmissionpolicies", "validatingadmissionpolicybindings"}
ALL = {
    ("create", "validatingadmissionpolicies"),
    ("create", "validatingadmissionpolicybindings"),
    ("impersonate", "users"),
    ("impersonate", "groups"),
}


def test_the_embedded_server_refuses_with_an_access_rule():
    kube = FakeKube({"harness.osac.io": {"accessrules"}, ADMISSION: POLICIES}, ALL)
    assert Refusals(kube).mechanism() == ACCESS_RULES


def test_a_real_server_refuses_with_an_admission_policy_the_harness_may_create():
    assert Refusals(FakeKube({ADMISSION: POLICIES}, ALL)).mechanism() == ADMISSION_POLICIES


@pytest.mark.parametrize(
    ("served", "allowed", "words"),
    [
        ({}, ALL, "serves neither the embedded AccessRule nor ValidatingAdmissionPolicy"),
        ({ADMISSION: POLICIES}, ALL - {("impersonate", "users")}, "may not impersonate users"),
        (
            {ADMISSION: POLICIES},
            ALL - {("create", "validatingadmissionpolicies")},
            "may not create validatingadmissionpolicies",
        ),
    ],
)
def test_without_a_mechanism_the_reason_is_given(served, allowed, words):
    with pytest.raises(RefusalUnavailable, match=words):
        Refusals(FakeKube(served, allowed)).mechanism()
