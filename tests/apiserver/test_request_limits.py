"""What a hostile client tries first, answered as kube-apiserver v1.37.2 answers it (measured):
bodies over 3 MiB, bodies that are not JSON or not an object, JSON nested too deep, a kind or
apiVersion that is not the URL's, metadata of the wrong types. Never a 500.

Every check runs against the embedded server and a real kube-apiserver (`server` in conftest).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.reference.apiserver.go_json import MAX_DEPTH

from .helpers import GROUP, VERSION, WIDGETS, configmaps_path, unique, widgets_path
from .raw_http import send

LIMIT = 3 * 1024 * 1024
TOO_LARGE = f"Request entity too large: limit is {LIMIT}"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
PROBE = (
    'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; '
    'Kind string "json:\\"kind,omitempty\\"" }'
)
UNRECOGNIZED_CM = "the object provided is unrecognized (must be of type ConfigMap): "
UNRECOGNIZED_W = "the object provided is unrecognized (must be of type Widget): "
PARSE = "couldn't get version/kind; json parse error: "


def _widget(name: str, **fields) -> dict:
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Widget",
        "metadata": {"name": name},
        "spec": {"size": 1},
    }
    body.update(fields)
    return body


def _padded(body: object, size: int) -> bytes:
    """`body` as JSON, padded with trailing spaces to exactly `size` bytes (still valid JSON)."""
    text = json.dumps(body).encode()
    return text + b" " * (size - len(text))


def _nested(name: str, depth: int) -> str:
    """A Widget whose body nests `depth` levels in all (the outer object is level 1)."""
    inner = depth - 3  # the object, spec, extra
    arrays = "[" * inner + "]" * inner
    return (
        f'{{"apiVersion":"{GROUP}/{VERSION}","kind":"Widget","metadata":{{"name":"{name}"}},'
        f'"spec":{{"size":1,"extra":{{"x":{arrays}}}}}}}'
    )


@pytest.fixture
def stored(custom, namespace):
    """A Widget to update, patch and delete."""
    name = unique("target")
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, WIDGETS, _widget(name))
    return name


# --- the body size limit ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "where", "content_type", "chunked"),
    [
        ("POST", "widgets", "application/json", False),
        ("POST", "widgets", "application/json", True),
        ("POST", "configmaps", "application/json", False),
        ("PUT", "widget", "application/json", False),
        ("PATCH", "widget", MERGE, False),
        ("PATCH", "widget", JSON_PATCH, True),
        ("DELETE", "widget", "application/json", False),
    ],
)
def test_a_body_over_3_mib_is_413(
    api_client, namespace, stored, method, where, content_type, chunked
):
    """A body one byte over 3 MiB is 413 RequestEntityTooLarge, with a Content-Length or chunked"""
    path = {
        "widgets": widgets_path(namespace),
        "configmaps": configmaps_path(namespace),
        "widget": f"{widgets_path(namespace)}/{stored}",
    }[where]
    body = [] if content_type == JSON_PATCH else _widget(stored)
    answer = send(api_client, method, path, _padded(body, LIMIT + 1), content_type, chunked)
    assert (answer.status, answer.reason, answer.message) == (
        413,
        "RequestEntityTooLarge",
        TOO_LARGE,
    ), answer.body


@pytest.mark.parametrize("chunked", [False, True])
def test_tens_of_megabytes_are_413(api_client, namespace, chunked):
    """A body of tens of megabytes is 413, not an internal error"""
    body = _padded({"metadata": {"name": unique("huge")}}, 20 * 1024 * 1024)
    answer = send(api_client, "POST", configmaps_path(namespace), body, chunked=chunked)
    assert (answer.status, answer.message) == (413, TOO_LARGE)


def test_a_body_of_exactly_3_mib_is_read(api_client, namespace):
    """A body of exactly 3 MiB is within the limit"""
    name = unique("exact")
    answer = send(api_client, "POST", widgets_path(namespace), _padded(_widget(name), LIMIT))
    assert answer.status == 201, answer.body
    assert answer.body["metadata"]["name"] == name


# --- bodies that are not JSON, or not an object ------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "hello there",
            PARSE + "invalid character 'h' looking for beginning of value (68656c6c6f207468657265)",
        ),
        ("", PARSE + "unexpected end of JSON input (<empty>)"),
        (
            "[1,2]",
            PARSE + f"json: cannot unmarshal array into Go value of type {PROBE} (5b312c325d)",
        ),
        (
            '"abc"',
            PARSE + f"json: cannot unmarshal string into Go value of type {PROBE} (2261626322)",
        ),
        ("42", PARSE + f"json: cannot unmarshal number into Go value of type {PROBE} (3432)"),
        (
            '{"metadata": {"name": "x"',
            PARSE + 'unexpected end of JSON input ({"metadata": {"name": "x")',
        ),
        (
            '{"metadata":{"name":"t1"}} xyz',
            PARSE + "invalid character 'x' after top-level value "
            '({"metadata":{"name":"t1"}} xyz)',
        ),
        (
            '{"metadata":{} "a":1}',
            PARSE + 'invalid character \'"\' after object key:value pair ({"metadata":{} "a":1})',
        ),
        ('{"a":[1 2]}', PARSE + "invalid character '2' after array element ({\"a\":[1 2]})"),
        ('{"a" 1}', PARSE + "invalid character '1' after object key ({\"a\" 1})"),
        (
            "{a: 1}",
            PARSE + "invalid character 'a' looking for beginning of object key string ({a: 1})",
        ),
        (
            '{"a":1,}',
            PARSE + "invalid character '}' looking for beginning of object key string ({\"a\":1,})",
        ),
        ('{"a":"x\ny"}', PARSE + 'invalid character \'\\n\' in string literal ({"a":"x\ny"})'),
        ('{"a":NaN}', PARSE + "invalid character 'N' looking for beginning of value ({\"a\":NaN})"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_400(api_client, namespace, body, message):
    """A create body that is not a JSON object is 400 with the Go decoder's error"""
    answer = send(api_client, "POST", configmaps_path(namespace), body)
    assert (answer.status, answer.reason, answer.message) == (
        400,
        "BadRequest",
        UNRECOGNIZED_CM + message,
    )


def test_an_update_that_is_not_json_is_400(api_client, namespace, stored):
    """An update body that is not JSON is refused the same way"""
    answer = send(api_client, "PUT", f"{widgets_path(namespace)}/{stored}", "hello")
    assert (answer.status, answer.message) == (
        400,
        UNRECOGNIZED_W
        + PARSE
        + "invalid character 'h' looking for beginning of value (68656c6c6f)",
    )


def test_invalid_utf8_is_replaced_not_refused(api_client, namespace):
    """Bytes that are not UTF-8 inside a string are stored as U+FFFD"""
    name = unique("utf")
    body = b'{"metadata":{"name":"' + name.encode() + b'"},"data":{"a":"x\xff\xfey"}}'
    answer = send(api_client, "POST", configmaps_path(namespace), body)
    assert answer.status == 201, answer.body
    assert answer.body["data"]["a"] == "x\ufffd\ufffdy"


def test_numbers_decode_as_go_does(api_client, namespace):
    """An integer beyond int64 becomes a float64; a number beyond float64 is 400"""
    name = unique("num")
    big = '{"n":123456789012345678901234567890,"whole":2.0}'
    body = (
        f'{{"apiVersion":"{GROUP}/{VERSION}","kind":"Widget","metadata":{{"name":"{name}"}},'
        f'"spec":{{"size":1.0,"extra":{big}}}}}'
    )
    answer = send(api_client, "POST", widgets_path(namespace), body)
    assert answer.status == 201, answer.body
    assert answer.body["spec"]["size"] == 1
    assert answer.body["spec"]["extra"] == {"n": 1.2345678901234568e29, "whole": 2}
    overflow = body.replace("123456789012345678901234567890", "1e400").replace(name, unique("o"))
    answer = send(api_client, "POST", widgets_path(namespace), overflow)
    assert (answer.status, answer.message) == (
        400,
        'Widget in version "v1" cannot be handled as a Widget: json: cannot unmarshal number '
        "1e400 into Go value of type float64",
    )


# --- nesting -------------------------------------------------------------------------------


def test_json_nested_over_10000_levels_is_400(api_client, namespace):
    """A body nested deeper than 10 000 levels is 400 `exceeded max depth`"""
    body = _nested(unique("deep"), 10_001)
    answer = send(api_client, "POST", widgets_path(namespace), body)
    assert (answer.status, answer.reason, answer.message) == (
        400,
        "BadRequest",
        UNRECOGNIZED_W + PARSE + f"invalid character '[' exceeded max depth ({body[:30]} ...)",
    )


def test_nesting_up_to_the_embedded_limit_round_trips(api_client, namespace):
    """A body nested as deep as the embedded server allows is stored, updated and patched"""
    name = unique("nest")
    path = f"{widgets_path(namespace)}/{name}"
    created = send(api_client, "POST", widgets_path(namespace), _nested(name, MAX_DEPTH))
    assert created.status == 201, created.body
    stored = created.body
    stored["metadata"]["labels"] = {"a": "b"}
    assert send(api_client, "PUT", path, json.dumps(stored)).status == 200
    merged = send(api_client, "PATCH", path, '{"metadata":{"labels":{"c":"d"}}}', MERGE)
    assert merged.status == 200
    assert merged.body["metadata"]["labels"] == {"a": "b", "c": "d"}


@pytest.mark.gap(
    f"bodies are refused as `exceeded max depth` beyond {MAX_DEPTH} levels (the server recurses "
    "in Python); kube-apiserver accepts up to 10 000"
)
def test_nesting_of_a_thousand_levels_is_accepted(api_client, namespace):
    """A body nested 1000 levels deep is accepted"""
    answer = send(api_client, "POST", widgets_path(namespace), _nested(unique("k"), 1000))
    assert answer.status == 201, answer.message


# --- kind and apiVersion ---------------------------------------------------------------------


def test_a_custom_resource_must_name_its_kind(api_client, namespace):
    """A custom resource without kind is 400 `Object 'Kind' is missing`; kind alone is an
    apiVersion mismatch; another kind is 422 on `kind`"""
    path = widgets_path(namespace)
    null = send(api_client, "POST", path, "null")
    assert (null.status, null.message) == (
        400,
        UNRECOGNIZED_W + "Object 'Kind' is missing in 'null' (6e756c6c)",
    )
    text = '{"metadata": {"name": "k10"}, "spec": {"size": 1}}'
    answer = send(api_client, "POST", path, text)
    assert (answer.status, answer.message) == (
        400,
        UNRECOGNIZED_W + f"Object 'Kind' is missing in '{text}' ({text[:30]} ...)",
    )
    kind_only = send(api_client, "POST", path, json.dumps({"kind": "Gadget", "metadata": {}}))
    assert (kind_only.status, kind_only.message) == (
        400,
        "the API version in the data () does not match the expected API version "
        f"({GROUP}/{VERSION})",
    )
    other = send(api_client, "POST", path, json.dumps(_widget("k1", kind="Gadget")))
    assert (other.status, other.reason, other.message) == (
        422,
        "Invalid",
        f'Gadget.{GROUP} "k1" is invalid: kind: Invalid value: "Gadget": must be Widget',
    )
    assert other.body["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "message": 'Invalid value: "Gadget": must be Widget',
            "field": "kind",
        }
    ]
    number = send(api_client, "POST", path, json.dumps(_widget("k2", kind=5)))
    assert number.status == 400
    assert number.message.startswith(
        UNRECOGNIZED_W
        + PARSE
        + "json: cannot unmarshal number into Go struct field .kind of type string"
    )


@pytest.mark.parametrize(
    ("api_version", "kind", "message"),
    [
        (
            "v2",
            "ConfigMap",
            'ConfigMap in version "v2" cannot be handled as a ConfigMap: no kind "ConfigMap" is '
            'registered for version "v2" in scheme "pkg/runtime/scheme.go:111"',
        ),
        (
            "apps/v1",
            "ConfigMap",
            'ConfigMap in version "v1" cannot be handled as a ConfigMap: no kind "ConfigMap" is '
            'registered for version "apps/v1" in scheme "pkg/runtime/scheme.go:111"',
        ),
        (
            "v1",
            "Secret",
            'Secret in version "v1" cannot be handled as a ConfigMap: converting (v1.Secret) to '
            "(core.ConfigMap): unknown conversion",
        ),
    ],
)
def test_a_builtin_refuses_another_kind(api_client, namespace, api_version, kind, message):
    """A built-in type refuses a body of another kind or version through its scheme (400)"""
    body = {"apiVersion": api_version, "kind": kind, "metadata": {"name": unique("k")}}
    answer = send(api_client, "POST", configmaps_path(namespace), json.dumps(body))
    assert (answer.status, answer.reason, answer.message) == (400, "BadRequest", message)


def test_a_builtin_defaults_kind_and_apiversion(api_client, namespace):
    """A built-in body without kind and apiVersion takes them from the URL; `null` is an
    empty object"""
    null = send(api_client, "POST", configmaps_path(namespace), "null")
    assert (null.status, null.message) == (
        422,
        'ConfigMap "" is invalid: metadata.name: Required value: name or generateName is required',
    )
    answer = send(
        api_client,
        "POST",
        configmaps_path(namespace),
        json.dumps({"metadata": {"name": unique("d")}}),
    )
    assert answer.status == 201, answer.body


# --- metadata of the wrong JSON types --------------------------------------------------------


@pytest.mark.parametrize(
    ("metadata", "custom_detail", "builtin_detail"),
    [
        (
            "abc",
            "json: cannot unmarshal string into Go value of type v1.ObjectMeta",
            "json: cannot unmarshal string into Go struct field ConfigMap.metadata of type "
            "v1.ObjectMeta",
        ),
        (
            {"name": 5},
            "json: cannot unmarshal number into Go struct field ObjectMeta.name of type string",
            "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.name of type "
            "string",
        ),
        (
            {"name": "m", "labels": ["a"]},
            "json: cannot unmarshal array into Go struct field ObjectMeta.labels of type "
            "map[string]string",
            "json: cannot unmarshal array into Go struct field ObjectMeta.metadata.labels of type "
            "map[string]string",
        ),
        (
            {"name": "m", "labels": {"a": 5}},
            "json: cannot unmarshal number into Go struct field ObjectMeta.labels of type string",
            "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type "
            "string",
        ),
        (
            {"name": "m", "finalizers": "abc"},
            "json: cannot unmarshal string into Go struct field ObjectMeta.finalizers of type "
            "[]string",
            "json: cannot unmarshal string into Go struct field ObjectMeta.metadata.finalizers of "
            "type []string",
        ),
        (
            {"name": "m", "ownerReferences": {"a": 1}},
            "json: cannot unmarshal object into Go struct field ObjectMeta.ownerReferences of type "
            "[]v1.OwnerReference",
            "json: cannot unmarshal object into Go struct field "
            "ObjectMeta.metadata.ownerReferences of type []v1.OwnerReference",
        ),
        (
            {"name": "m", "uid": 5},
            "json: cannot unmarshal number into Go struct field ObjectMeta.uid of type types.UID",
            "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.uid of type "
            "types.UID",
        ),
        (
            {"name": "m", "generation": "abc"},
            "json: cannot unmarshal string into Go struct field ObjectMeta.generation of type "
            "int64",
            "json: cannot unmarshal string into Go struct field ObjectMeta.metadata.generation of "
            "type int64",
        ),
        (
            {"name": "m", "creationTimestamp": "garbage"},
            'parsing time "garbage" as "2006-01-02T15:04:05Z07:00": cannot parse "garbage" as '
            '"2006"',
            'parsing time "garbage" as "2006-01-02T15:04:05Z07:00": cannot parse "garbage" as '
            '"2006"',
        ),
    ],
)
def test_metadata_of_the_wrong_type_is_400(
    api_client, namespace, metadata, custom_detail, builtin_detail
):
    """Metadata fields of the wrong JSON type fail decoding (400), before any validation"""
    custom = send(
        api_client, "POST", widgets_path(namespace), json.dumps(_widget("m", metadata=metadata))
    )
    assert (custom.status, custom.message) == (
        400,
        f'Widget in version "v1" cannot be handled as a Widget: {custom_detail}',
    )
    builtin = send(
        api_client, "POST", configmaps_path(namespace), json.dumps({"metadata": metadata})
    )
    assert (builtin.status, builtin.message) == (
        400,
        f'ConfigMap in version "v1" cannot be handled as a ConfigMap: {builtin_detail}',
    )


# --- patch bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body", "status", "message"),
    [
        (MERGE, "hello", 400, "invalid JSON patch"),
        (MERGE, "", 400, "invalid JSON patch"),
        (
            MERGE,
            "[1]",
            400,
            "error decoding patch: json: cannot unmarshal array into Go value of type "
            "map[string]interface {}",
        ),
        (MERGE, "null", 400, "Invalid JSON Patch"),
        (JSON_PATCH, "hello", 400, "invalid JSON patch"),
        (
            JSON_PATCH,
            '{"op":"add"}',
            400,
            "error decoding patch: json: cannot unmarshal object into Go value of type "
            "[]handlers.jsonPatchOp",
        ),
        (
            JSON_PATCH,
            '[{"op":"bogus","path":"/spec"}]',
            422,
            "the server rejected our request due to an error in our request",
        ),
        (
            JSON_PATCH,
            '[{"op":"test","path":"/spec/size","value":99}]',
            422,
            "the server rejected our request due to an error in our request",
        ),
    ],
)
def test_patch_bodies_that_do_not_apply(
    api_client, namespace, stored, content_type, body, status, message
):
    """A patch that is not JSON, not of its type's shape, or does not apply, is refused"""
    answer = send(api_client, "PATCH", f"{widgets_path(namespace)}/{stored}", body, content_type)
    assert (answer.status, answer.message) == (status, message)


def test_a_patch_cannot_change_the_kind_or_break_metadata(api_client, namespace, stored):
    """A patched custom resource must keep its kind (422 on `kind`), and metadata that no
    longer decodes is 422 on `patch`"""
    path = f"{widgets_path(namespace)}/{stored}"
    kind = send(api_client, "PATCH", path, '{"kind":"Gadget"}', MERGE)
    assert (kind.status, kind.message) == (
        422,
        f'Gadget.{GROUP} "{stored}" is invalid: kind: Invalid value: "Gadget": must be Widget',
    )
    broken = send(api_client, "PATCH", path, '{"metadata":"x"}', MERGE)
    assert (broken.status, broken.reason) == (422, "Invalid")
    assert broken.message.startswith(' "" is invalid: patch: Invalid value: "{')
    assert broken.message.endswith(
        "json: cannot unmarshal string into Go value of type v1.ObjectMeta"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("hello", PARSE + "invalid character 'h' looking for beginning of value"),
        ("[]", PARSE + f"json: cannot unmarshal array into Go value of type {PROBE}"),
    ],
)
def test_delete_options_that_are_not_an_object(api_client, namespace, stored, body, message):
    """A DELETE body that is not a DeleteOptions object is 400"""
    answer = send(api_client, "DELETE", f"{widgets_path(namespace)}/{stored}", body)
    assert (answer.status, answer.message) == (400, message)


# --- generated hostile bodies ------------------------------------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
_metadata = st.dictionaries(
    st.sampled_from(
        [
            "name",
            "generateName",
            "labels",
            "annotations",
            "finalizers",
            "uid",
            "generation",
            "ownerReferences",
        ]
    ),
    _json_values,
    max_size=4,
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_arbitrary_bytes_are_never_a_server_error(api_client, namespace, raw):
    """Whatever bytes a client sends as a body, the answer is a client error or a create"""
    answer = send(api_client, "POST", configmaps_path(namespace), raw)
    assert answer.status in (201, 400, 409, 422), (raw, answer.body)
    if answer.status == 400:
        assert answer.message.startswith((UNRECOGNIZED_CM, 'ConfigMap in version "')), (
            answer.message
        )


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(metadata=_metadata, extra=_json_values)
def test_arbitrary_objects_are_never_a_server_error(api_client, namespace, metadata, extra):
    """Whatever metadata and fields a body carries, the answer is a client error or a create"""
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Widget", "metadata": metadata}
    body["spec"] = {"size": 1, "extra": {"x": extra}}
    answer = send(api_client, "POST", widgets_path(namespace), json.dumps(body))
    assert answer.status in (201, 400, 409, 422), (body, answer.body)
    assert answer.reason in (None, "BadRequest", "AlreadyExists", "Invalid"), answer.body


# --- metadata that decodes but is invalid ------------------------------------------------------

SUBDOMAIN = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
DNS_LABEL = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
KEY_FORMAT = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
VALUE_FORMAT = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


def _causes(answer) -> list[tuple[str, str, str]]:
    causes = answer.body["details"]["causes"]
    return [(c["reason"], c["field"], c["message"]) for c in causes]


@pytest.mark.parametrize(
    ("metadata", "causes"),
    [
        (
            {"name": "Abc"},
            [("FieldValueInvalid", "metadata.name", f'Invalid value: "Abc": {SUBDOMAIN}')],
        ),
        (
            {"name": "a" * 254},
            [
                (
                    "FieldValueInvalid",
                    "metadata.name",
                    f'Invalid value: "{"a" * 254}": must be no more than 253 characters',
                )
            ],
        ),
        (
            {"name": "l", "labels": {"-bad": "x"}},
            [
                (
                    "FieldValueInvalid",
                    "metadata.labels",
                    f'Invalid value: "-bad": name part {KEY_FORMAT}',
                )
            ],
        ),
        (
            {"name": "l", "labels": {"/abc": "x"}},
            [
                (
                    "FieldValueInvalid",
                    "metadata.labels",
                    'Invalid value: "/abc": prefix part must be non-empty',
                )
            ],
        ),
        (
            {"name": "l", "labels": {"k" * 64: "x"}},
            [
                (
                    "FieldValueInvalid",
                    "metadata.labels",
                    f'Invalid value: "{"k" * 64}": name part must be no more than 63 bytes',
                )
            ],
        ),
        (
            {"name": "l", "labels": {"a/b/c": "x"}},
            [
                (
                    "FieldValueInvalid",
                    "metadata.labels",
                    f'Invalid value: "a/b/c": a valid label key {KEY_FORMAT} with an optional DNS '
                    "subdomain prefix and '/' (e.g. 'example.com/MyName')",
                )
            ],
        ),
        (
            {"name": "l", "labels": {"k": "-bad-"}},
            [("FieldValueInvalid", "metadata.labels", f'Invalid value: "-bad-": {VALUE_FORMAT}')],
        ),
        (
            {"name": "l", "labels": {"k": "v" * 64}},
            [
                (
                    "FieldValueInvalid",
                    "metadata.labels",
                    f'Invalid value: "{"v" * 64}": must be no more than 63 bytes',
                )
            ],
        ),
        (
            {"name": "a", "annotations": {"-bad": "x"}},
            [
                (
                    "FieldValueInvalid",
                    "metadata.annotations",
                    f'Invalid value: "-bad": name part {KEY_FORMAT}',
                )
            ],
        ),
        (
            {"name": "a", "annotations": {"a": "x" * 262_144}},
            [
                (
                    "FieldValueTooLong",
                    "metadata.annotations",
                    "Too long: may not be more than 262144 bytes",
                )
            ],
        ),
        (
            {"name": "f", "finalizers": ["example.com/bad finalizer"]},
            [
                (
                    "FieldValueInvalid",
                    "metadata.finalizers",
                    f'Invalid value: "example.com/bad finalizer": name part {KEY_FORMAT}',
                )
            ],
        ),
        (
            {"name": "f", "finalizers": ["orphan", "foregroundDeletion"]},
            [
                (
                    "FieldValueInvalid",
                    "metadata.finalizers",
                    'Invalid value: ["orphan","foregroundDeletion"]: finalizer orphan and '
                    "foregroundDeletion cannot be both set",
                )
            ],
        ),
        (
            {"name": "o", "ownerReferences": [{}]},
            [
                (
                    "FieldValueRequired",
                    f"metadata.ownerReferences[0].{key}",
                    "Required value: must not be empty",
                )
                for key in ("apiVersion", "kind", "name", "uid")
            ],
        ),
        (
            {
                "name": "o",
                "ownerReferences": [{"apiVersion": "a/b/c", "kind": "K", "name": "n", "uid": "u"}],
            },
            [
                (
                    "FieldValueInvalid",
                    "metadata.ownerReferences[0].apiVersion",
                    'Invalid value: "a/b/c": must be <group>/<version> or <version>',
                )
            ],
        ),
        (
            {
                "name": "o",
                "ownerReferences": [{"apiVersion": "v1", "kind": "Event", "name": "n", "uid": "u"}],
            },
            [
                (
                    "FieldValueInvalid",
                    "metadata.ownerReferences[0]",
                    'Invalid value: {"apiVersion":"v1","kind":"Event","name":"n","uid":"u"}: '
                    "/v1, Kind=Event is disallowed from being an owner",
                )
            ],
        ),
    ],
)
def test_invalid_metadata_is_422(api_client, namespace, metadata, causes):
    """Names, generateNames, labels, annotations (keys, 256 KiB in all), finalizers and owner
    references are validated with kube-apiserver's messages and field paths"""
    for path, body in (
        (widgets_path(namespace), _widget("x", metadata=metadata)),
        (configmaps_path(namespace), {"metadata": metadata}),
    ):
        answer = send(api_client, "POST", path, json.dumps(body))
        assert (answer.status, answer.reason) == (422, "Invalid"), answer.body
        assert _causes(answer) == causes


def test_a_generated_name_is_validated_with_its_prefix(api_client, namespace):
    """An invalid generateName is reported, and so is the name generated from it"""
    body = {"metadata": {"generateName": "ABC."}}
    answer = send(api_client, "POST", configmaps_path(namespace), json.dumps(body))
    assert answer.status == 422
    causes = _causes(answer)
    assert causes[0] == (
        "FieldValueInvalid",
        "metadata.generateName",
        f'Invalid value: "ABC.": {SUBDOMAIN}',
    )
    assert [field for _, field, _ in causes] == ["metadata.generateName", "metadata.name"]


def test_a_core_finalizer_must_be_qualified(api_client, namespace):
    """A finalizer of a core type is a standard one or qualified by a domain; a custom
    resource's may be a bare name"""
    body = {"metadata": {"name": unique("f"), "finalizers": ["bare"]}}
    answer = send(api_client, "POST", configmaps_path(namespace), json.dumps(body))
    assert answer.status == 422
    assert _causes(answer) == [
        (
            "FieldValueInvalid",
            "metadata.finalizers[0]",
            'Invalid value: "bare": name is neither a standard finalizer name nor is it fully '
            "qualified",
        )
    ]
    custom = _widget(unique("f"), metadata={"finalizers": ["bare"]})
    custom["metadata"]["name"] = unique("f")
    created = send(api_client, "POST", widgets_path(namespace), json.dumps(custom))
    assert created.status == 201, created.body
    path = f"{widgets_path(namespace)}/{created.body['metadata']['name']}"
    send(api_client, "PATCH", path, '{"metadata":{"finalizers":null}}', MERGE)


def test_annotations_of_exactly_256_kib_are_accepted(api_client, namespace):
    """Annotations of exactly 256 KiB (keys and values) are within the limit"""
    body = {"metadata": {"name": unique("a"), "annotations": {"a": "x" * (262_144 - 1)}}}
    assert send(api_client, "POST", configmaps_path(namespace), json.dumps(body)).status == 201


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Abc", f'Invalid value: "Abc": {DNS_LABEL}'),
        ("a.b", 'Invalid value: "a.b": must not contain dots'),
    ],
)
def test_a_namespace_name_is_a_dns_label(api_client, name, message):
    """A namespace's name is a DNS label (no dots)"""
    answer = send(
        api_client, "POST", "/api/v1/namespaces", json.dumps({"metadata": {"name": name}})
    )
    assert answer.status == 422
    assert ("FieldValueInvalid", "metadata.name", message) in _causes(answer)


@pytest.mark.parametrize(
    ("method", "content_type"),
    [("PUT", "application/json"), ("PATCH", "application/merge-patch+json")],
)
def test_an_update_or_patch_of_a_collection_is_405(api_client, namespace, method, content_type):
    answer = send(api_client, method, configmaps_path(namespace), "{}", content_type)
    assert (answer.status, answer.reason) == (405, "MethodNotAllowed"), answer
    assert answer.message == "the server does not allow this method on the requested resource"
