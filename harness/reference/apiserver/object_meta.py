"""ObjectMeta rules: known fields, names, generateName, labels, timestamps."""

from __future__ import annotations

import random
import re
import time
from typing import Any

from harness.reference.apiserver.status_errors import (
    Cause,
    field_invalid,
    field_required,
    field_too_long,
)

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

# The formats of k8s.io/apimachinery's validation, with the messages it builds from them.
_DNS_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN_FMT = _DNS_LABEL_FMT + "(\\." + _DNS_LABEL_FMT + ")*"
_LABEL_KEY_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT = "(" + _LABEL_KEY_FMT + ")?"
_DNS_LABEL = re.compile(_DNS_LABEL_FMT)
_DNS_SUBDOMAIN = re.compile(_DNS_SUBDOMAIN_FMT)
_LABEL_KEY = re.compile(_LABEL_KEY_FMT)
_LABEL_VALUE = re.compile(_LABEL_VALUE_FMT)
_DNS_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
_DNS_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character"
)
_LABEL_KEY_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character"
)
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character"
)
TOTAL_ANNOTATION_SIZE = 256 * 1024
BANNED_OWNERS = {("", "v1", "Event")}
STANDARD_FINALIZERS = frozenset({"kubernetes", "orphan", "foregroundDeletion"})

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
    metadata: dict[str, Any],
    dns_label: bool,
    old: dict[str, Any] | None = None,
    core_finalizers: bool = False,
) -> list[Cause]:
    """Violations in `metadata`, in kube-apiserver's order and words (ValidateObjectMeta); on
    updates, parts that are the stored ones are not rechecked. `core_finalizers`: the core
    group's types also want a finalizer qualified by a domain, unless it is a standard one."""
    causes: list[Cause] = []
    name_errors = _dns_label if dns_label else _dns_subdomain
    if old is None:
        prefix = metadata.get("generateName")
        if isinstance(prefix, str) and prefix:
            masked = prefix[:-2] + "a" if len(prefix) > 1 and prefix.endswith("-") else prefix
            for message in name_errors(masked):
                causes.append(field_invalid("metadata.generateName", prefix, message))
        name = metadata.get("name", "")
        if isinstance(name, str) and name:
            for message in name_errors(name):
                causes.append(field_invalid("metadata.name", name, message))
    labels = metadata.get("labels")
    if isinstance(labels, dict) and (old is None or labels is not old.get("labels")):
        for key, value in labels.items():
            for message in qualified_name_errors(key):
                causes.append(field_invalid("metadata.labels", key, message))
            for message in label_value_errors(value):
                causes.append(field_invalid("metadata.labels", value, message))
    annotations = metadata.get("annotations")
    if isinstance(annotations, dict) and (old is None or annotations is not old.get("annotations")):
        for key in annotations:
            for message in qualified_name_errors(key.lower()):
                causes.append(field_invalid("metadata.annotations", key, message))
        size = sum(len(k.encode()) + len(v.encode()) for k, v in annotations.items())
        if size > TOTAL_ANNOTATION_SIZE:
            causes.append(field_too_long("metadata.annotations", TOTAL_ANNOTATION_SIZE))
    owners = metadata.get("ownerReferences")
    if isinstance(owners, list) and (old is None or owners is not old.get("ownerReferences")):
        causes.extend(_owner_reference_errors(owners))
    finalizers = metadata.get("finalizers")
    if old is None and isinstance(finalizers, list):
        for finalizer in finalizers:
            for message in qualified_name_errors(finalizer):
                causes.append(field_invalid("metadata.finalizers", finalizer, message))
        if "orphan" in finalizers and "foregroundDeletion" in finalizers:
            detail = "finalizer orphan and foregroundDeletion cannot be both set"
            causes.append(field_invalid("metadata.finalizers", finalizers, detail))
    if core_finalizers and isinstance(finalizers, list):
        for index, finalizer in enumerate(finalizers):
            if "/" not in finalizer and finalizer not in STANDARD_FINALIZERS:
                detail = "name is neither a standard finalizer name nor is it fully qualified"
                causes.append(field_invalid(f"metadata.finalizers[{index}]", finalizer, detail))
    return causes


def _owner_reference_errors(owners: list[Any]) -> list[Cause]:
    causes: list[Cause] = []
    controller = ""
    for index, item in enumerate(owners):
        path = f"metadata.ownerReferences[{index}]"
        ref = item or {}
        api_version = ref.get("apiVersion") or ""
        if not api_version:
            causes.append(field_required(f"{path}.apiVersion", "must not be empty"))
        elif api_version.count("/") > 1 or not api_version.rpartition("/")[2]:
            detail = "must be <group>/<version> or <version>"
            causes.append(field_invalid(f"{path}.apiVersion", api_version, detail))
        for key in ("kind", "name", "uid"):
            if not ref.get(key):
                causes.append(field_required(f"{path}.{key}", "must not be empty"))
        group, _, version = api_version.rpartition("/")
        kind = ref.get("kind") or ""
        if (group, version, kind) in BANNED_OWNERS:
            detail = f"{group}/{version}, Kind={kind} is disallowed from being an owner"
            causes.append(field_invalid(path, ref, detail))
        if ref.get("controller") is True:
            current = f"{kind}/{ref.get('name') or ''}"
            if controller:
                detail = (
                    'Only one reference can have Controller set to true. Found "true" in '
                    f"references for {controller} and {current}"
                )
                causes.append(field_invalid("metadata.ownerReferences", owners, detail))
            else:
                controller = current
    return causes


def _regex_error(message: str, pattern: str, *examples: str) -> str:
    if not examples:
        return f"{message} (regex used for validation is '{pattern}')"
    quoted = " or ".join(f"'{example}', " for example in examples)
    return f"{message} (e.g. {quoted}regex used for validation is '{pattern}')"


def _dns_subdomain(value: str, unit: str = "characters") -> list[str]:
    errors = []
    if len(value) > 253:
        errors.append(f"must be no more than 253 {unit}")
    if not _DNS_SUBDOMAIN.fullmatch(value):
        errors.append(_regex_error(_DNS_SUBDOMAIN_MSG, _DNS_SUBDOMAIN_FMT, "example.com"))
    return errors


def _dns_label(value: str) -> list[str]:
    errors = []
    if len(value) > 63:
        errors.append("must be no more than 63 characters")
    if not _DNS_LABEL.fullmatch(value):
        if _DNS_SUBDOMAIN.fullmatch(value):
            errors.append("must not contain dots")
        else:
            errors.append(_regex_error(_DNS_LABEL_MSG, _DNS_LABEL_FMT, "my-name", "123-abc"))
    return errors


def qualified_name_errors(key: str) -> list[str]:
    """Why `key` is not a label key (IsQualifiedName), empty when it is one."""
    parts = key.split("/")
    errors: list[str] = []
    key_format = _regex_error(_LABEL_KEY_MSG, _LABEL_KEY_FMT, "MyName", "my.name", "123-abc")
    if len(parts) > 2:
        return [
            f"a valid label key {key_format} with an optional DNS subdomain prefix and '/' "
            "(e.g. 'example.com/MyName')"
        ]
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            errors.append("prefix part must be non-empty")
        else:
            errors.extend(f"prefix part {error}" for error in _dns_subdomain(prefix, "bytes"))
    if not name:
        errors.append("name part must be non-empty")
    elif len(name.encode()) > 63:
        errors.append("name part must be no more than 63 bytes")
    if not _LABEL_KEY.fullmatch(name):
        errors.append(f"name part {key_format}")
    return errors


def label_value_errors(value: str) -> list[str]:
    errors = []
    if len(value.encode()) > 63:
        errors.append("must be no more than 63 bytes")
    if not _LABEL_VALUE.fullmatch(value):
        errors.append(
            _regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345")
        )
    return errors
