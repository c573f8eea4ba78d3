import pytest

from harness.reference.controller.config_version import (
    SPEC_FIELDS_A,
    SPEC_FIELDS_B,
    desired_config_version,
    fnv1a_64_hex,
    go_json_string,
    go_marshal_spec,
)

SPEC_B = {
    "templateID": "osac.templates.ocp_virt_vm",
    "image": {"sourceType": "registry", "sourceRef": "quay.io/containerdisks/fedora:latest"},
    "cores": 2,
    "memoryGiB": 4,
    "bootDisk": {"sizeGiB": 20},
    "runStrategy": "Always",
}


@pytest.mark.parametrize(
    ("data", "expected"),
    [(b"", "cbf29ce484222325"), (b"a", "af63dc4c8601ec8c"), (b"foobar", "85944171f73967e8")],
)
def test_fnv1a_64_reference_vectors(data, expected):
    assert fnv1a_64_hex(data) == expected


def test_profile_b_spec_marshals_in_go_struct_order_with_omitempty():
    # Stored key order is irrelevant; Go writes struct field order.
    shuffled = dict(reversed(list(SPEC_B.items())))
    assert go_marshal_spec(shuffled, SPEC_FIELDS_B) == (
        b'{"templateID":"osac.templates.ocp_virt_vm",'
        b'"image":{"sourceType":"registry","sourceRef":"quay.io/containerdisks/fedora:latest"},'
        b'"cores":2,"memoryGiB":4,"bootDisk":{"sizeGiB":20},"runStrategy":"Always"}'
    )


def test_optional_fields_appear_in_position_when_set():
    spec = dict(
        SPEC_B,
        restartRequestedAt="2026-03-01T10:00:00Z",
        sshKey="ssh-ed25519 AAA",
        additionalDisks=[{"sizeGiB": 5}],
        userDataSecretRef={"name": "ud"},
        templateParameters="{}",
        subnetRef="s1",
    )
    assert go_marshal_spec(spec, SPEC_FIELDS_B) == (
        b'{"templateID":"osac.templates.ocp_virt_vm","templateParameters":"{}",'
        b'"image":{"sourceType":"registry","sourceRef":"quay.io/containerdisks/fedora:latest"},'
        b'"cores":2,"memoryGiB":4,"bootDisk":{"sizeGiB":20},"additionalDisks":[{"sizeGiB":5}],'
        b'"runStrategy":"Always","userDataSecretRef":{"name":"ud"},"sshKey":"ssh-ed25519 AAA",'
        b'"subnetRef":"s1","restartRequestedAt":"2026-03-01T10:00:00Z"}'
    )


def test_empty_pointer_struct_is_kept_and_empty_list_dropped():
    spec = dict(SPEC_B, userDataSecretRef={"name": ""}, additionalDisks=[])
    encoded = go_marshal_spec(spec, SPEC_FIELDS_B)
    assert b'"userDataSecretRef":{}' in encoded
    assert b"additionalDisks" not in encoded


def test_restart_request_is_rendered_like_metav1_time():
    with_fraction = dict(SPEC_B, restartRequestedAt="2026-03-01T12:00:00.5+02:00")
    whole = dict(SPEC_B, restartRequestedAt="2026-03-01T10:00:00Z")
    assert go_marshal_spec(with_fraction, SPEC_FIELDS_B) == go_marshal_spec(whole, SPEC_FIELDS_B)


def test_restart_request_changes_the_version():
    base = desired_config_version(SPEC_B, SPEC_FIELDS_B)
    later = desired_config_version(
        dict(SPEC_B, restartRequestedAt="2026-03-01T10:00:00Z"), SPEC_FIELDS_B
    )
    assert base != later
    assert len(base) == 16
    assert base == desired_config_version(dict(SPEC_B), SPEC_FIELDS_B)


def test_profile_a_spec_layout():
    spec = {"templateID": "t1", "restartRequestedAt": "2026-03-01T10:00:00Z", "cores": 9}
    assert go_marshal_spec(spec, SPEC_FIELDS_A) == (
        b'{"templateID":"t1","restartRequestedAt":"2026-03-01T10:00:00Z"}'
    )
    assert go_marshal_spec({}, SPEC_FIELDS_A) == b"{}"


def test_strings_are_escaped_like_go():
    assert go_json_string('a<b>&"\\\n\u2028é') == '"a\\u003cb\\u003e\\u0026\\"\\\\\\n\\u2028é"'
    assert go_json_string("\x01\b\f") == '"\\u0001\\b\\f"'
