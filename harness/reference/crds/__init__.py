"""The project's own CRD files, one YAML per CRD, named `<group>_<plural>.yaml` like upstream.

`crd_paths(profile)` lists what the embedded API server loads for one profile: that era's
ComputeInstance and Tenant CRDs and the two KubeVirt CRDs. Where two profiles share a group but
not a schema, the later one's file is `<group>_<plural>.<profile>.yaml`.
`environment_crd_paths()` adds what the environment doctor inspects around them: KubeVirt's
install CR and Authorino's AuthConfig.
"""

from __future__ import annotations

from pathlib import Path

from harness.contract.profiles import KUBEVIRT_GROUP, VM_PLURAL, VMI_PLURAL, Profile

CRD_DIR = Path(__file__).resolve().parent


def crd_file(group: str, plural: str) -> Path:
    return CRD_DIR / f"{group}_{plural}.yaml"


def profile_crd_file(profile: Profile, plural: str) -> Path:
    """The profile's own file for `plural` if it has one, else the group's."""
    own = CRD_DIR / f"{profile.group}_{plural}.{profile.name}.yaml"
    return own if own.is_file() else crd_file(profile.group, plural)


def crd_paths(profile: Profile) -> list[Path]:
    paths = [
        profile_crd_file(profile, profile.plural),
        profile_crd_file(profile, profile.tenant_plural),
        crd_file(KUBEVIRT_GROUP, VM_PLURAL),
        crd_file(KUBEVIRT_GROUP, VMI_PLURAL),
    ]
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"CRD files missing for profile {profile.name}: {missing}")
    return paths


def environment_crd_paths() -> list[Path]:
    return [crd_file(KUBEVIRT_GROUP, "kubevirts"), crd_file("authorino.kuadrant.io", "authconfigs")]
