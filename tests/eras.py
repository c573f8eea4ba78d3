"""Every profile the harness has, as pytest parameters: tests that hold for every naming era
take their profiles from here, so a new profile is tested wherever profiles go."""

from __future__ import annotations

import pytest

from harness.contract.profiles import PROFILES

EVERY_PROFILE = [pytest.param(profile, id=profile.name) for profile in PROFILES.values()]
EVERY_PROFILE_NAME = [pytest.param(name, id=name) for name in PROFILES]
