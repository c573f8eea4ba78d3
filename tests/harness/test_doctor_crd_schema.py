"""The doctor tells profiles that share an API group apart by the served CRD's schema."""

from __future__ import annotations

import pytest
import yaml

from harness.contract.profiles import PROFILES
from harness.doctor.kubernetes_checks import schema_profiles
from harness.reference.crds import crd_paths
from tests.eras import EVERY_PROFILE


@pytest.mark.parametrize("profile", EVERY_PROFILE)
def test_each_profile_crd_is_recognised_as_its_own(profile):
    crd = yaml.safe_load(crd_paths(profile)[0].read_text())
    assert schema_profiles(crd) == [profile.name]


def test_an_unknown_schema_matches_no_profile():
    crd = yaml.safe_load(crd_paths(PROFILES["cloudkit-jobs"])[0].read_text())
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"][
        "phase"
    ]["enum"].append("Stopped")
    assert schema_profiles(crd) == []
