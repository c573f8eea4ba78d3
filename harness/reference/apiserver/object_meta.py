"""ObjectMeta rules: known fields, names, generateName, labels, timestamps."""

from __future__ import annotations

import random
import re
import time
from typing import Any

from harness.reference.apiserver.status_errors import Cause, field_invalid

KNOWN_FIELDS = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)
# Fields only the server writes; a client's values are replaced by the stored ones.
SERVER_FIELDS = (
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "selfLink",
)
# The alphabet and length of k8s.io/apimachinery's utilrand.String (no vowels, no 0/1/3).
GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
GENERATED_LENGTH = 5

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

_random = random.SystemRandom()


def now_rfc3339(clock: float | None = None) -> str:
    """Whole seconds, `Z`: how metav1.Time serialises."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if clock is None else clock))


def generate_name(prefix: str) -> str:
    suffix = "".join(_random.choice(GENERATE_ALPHABET) for _ in range(GENERATED_LENGTH))
    return prefix + suffix


def clean(metadata: dict[str, Any]) -> dict[str, Any]:
    """Drop fields ObjectMeta does not have (the real decoder ignores them)."""
    if all(key in KNOWN_FIELDS for key in metadata):
        return metadata
    return {key: value for key, value in metadata.items() if key in KNOWN_FIELDS}


def validate(
    metadata: dict[str, Any], dns_label: bool, old: dict[str, Any] | None = None
) -> list[Cause]:
    """Violations in `metadata`; on updates, parts that are the stored ones are not rechecked."""
    causes: list[Cause] = []
    name = metadata.get("name", "")
    if old is None and (not isinstance(name, str) or not _valid_name(name, dns_label)):
        detail = (
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
            "'-', and must start and end with an alphanumeric character"
            if dns_label
            else "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
            "characters, '-' or '.', and must start and end with an alphanumeric character"
        )
        causes.append(field_invalid("metadata.name", name, detail))
    for field in ("labels", "annotations"):
        value = metadata.get(field)
        if value is None or (old is not None and value is old.get(field)):
            continue
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            causes.append(field_invalid(f"metadata.{field}", value, "must be a map of strings"))
            continue
        if field == "labels":
            for key, label in value.items():
                if not valid_qualified_key(key):
                    causes.append(
                        field_invalid("metadata.labels", key, "name part must be a valid label key")
                    )
                if len(label) > 63 or not _LABEL_VALUE.match(label):
                    causes.append(
                        field_invalid(
                            f"metadata.labels[{key}]",
                            label,
                            "a valid label must be an empty string or consist of alphanumeric "
                            "characters, '-', '_' or '.'",
                        )
                    )
    finalizers = metadata.get("finalizers")
    if finalizers is not None and (
        not isinstance(finalizers, list) or not all(isinstance(f, str) and f for f in finalizers)
    ):
        causes.append(field_invalid("metadata.finalizers", finalizers, "must be a list of names"))
    owners = metadata.get("ownerReferences")
    if owners is not None and (old is None or owners is not old.get("ownerReferences")):
        if not isinstance(owners, list):
            causes.append(field_invalid("metadata.ownerReferences", owners, "must be a list"))
        else:
            for index, ref in enumerate(owners):
                if not isinstance(ref, dict):
                    causes.append(
                        field_invalid(
                            f"metadata.ownerReferences[{index}]", ref, "must be an object"
                        )
                    )
                    continue
                for key in ("apiVersion", "kind", "name", "uid"):
                    if not ref.get(key):
                        causes.append(
                            field_invalid(
                                f"metadata.ownerReferences[{index}].{key}",
                                "",
                                f"{key} must not be empty",
                            )
                        )
    return causes


def _valid_name(name: str, dns_label: bool) -> bool:
    if dns_label:
        return 0 < len(name) <= 63 and bool(_DNS_LABEL.match(name))
    return 0 < len(name) <= 253 and bool(_DNS_SUBDOMAIN.match(name))


def valid_qualified_key(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return False
    return 0 < len(name) <= 63 and bool(_QUALIFIED_NAME.match(name))
