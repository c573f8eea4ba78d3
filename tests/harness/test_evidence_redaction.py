"""Nothing the evidence writers put under results/ carries a credential."""

from __future__ import annotations

import yaml

from harness.evidence.diagnostics import CappedFolder
from harness.evidence.redaction import MARK, Redactor, kubeconfig_secrets, token_file_secrets

TOKEN = "s3cr3t-T0ken-seeded-by-the-test"


def test_known_secrets_are_replaced_wherever_they_occur():
    redactor = Redactor([TOKEN, None, "short"])
    text = redactor.text(f"url?token={TOKEN}&x=1 and again {TOKEN}")
    assert TOKEN not in text and text.count(MARK) == 2


def test_patterns_catch_tokens_nobody_declared():
    redactor = Redactor()
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJlLXBhcnQ"
    lines = [
        "Authorization: Bearer abcdefghijklmnop1234",
        f"got {jwt}",
        "    token: kubeconfig-user-token-value",
        '{"client-key-data": "LS0tLS1CRUdJTiBSU0E="}',
        "password=hunter2hunter2",
    ]
    out = redactor.text("\n".join(lines))
    leaks = ("abcdefghijklmnop1234", jwt, "kubeconfig-user-token-value", "LS0tLS1C", "hunter2")
    for leaked in leaks:
        assert leaked not in out, out
    assert "restartRequestedAt: 2026-01-01T00:00:00Z" in redactor.text(
        "restartRequestedAt: 2026-01-01T00:00:00Z"
    )


def test_secret_objects_lose_their_data_and_nested_strings_are_redacted():
    redactor = Redactor([TOKEN])
    obj = {
        "kind": "Secret",
        "metadata": {"name": "s", "annotations": {"note": f"was {TOKEN}"}},
        "data": {"token": "c2VjcmV0"},
        "stringData": {"password": "plain"},
    }
    out = redactor.object(obj)
    assert out["data"] == {"token": MARK} and out["stringData"] == {"password": MARK}
    assert TOKEN not in str(out) and obj["data"]["token"] == "c2VjcmV0"  # the input is kept


def test_kubeconfig_and_token_file_secrets_are_found(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {"users": [{"name": "u", "user": {"token": TOKEN, "client-key-data": "KEYDATA123"}}]}
        )
    )
    assert set(kubeconfig_secrets(kubeconfig)) == {TOKEN, "KEYDATA123"}
    tokens = tmp_path / "tokens.json"
    tokens.write_text('{"tokens": [{"token": "abc123abc", "user": "x"}]}')
    assert token_file_secrets(tokens) == ["abc123abc"]
    assert kubeconfig_secrets(tmp_path / "missing") == [] and kubeconfig_secrets(None) == []


def test_a_diagnostics_folder_stops_at_its_cap_with_a_marker(tmp_path):
    folder = CappedFolder(tmp_path, Redactor([TOKEN]), cap=300)
    folder.write("a.txt", f"{TOKEN}\n" + "x" * 100)
    folder.write("b.txt", "y" * 1000)
    folder.write("c.txt", "z")
    assert TOKEN not in (tmp_path / "a.txt").read_text()
    b = (tmp_path / "b.txt").read_text()
    assert "truncated" in b and "300 bytes" in b
    assert sum(p.stat().st_size for p in tmp_path.iterdir()) <= 300
    assert folder.written == ["a.txt", "b.txt"] and folder.skipped == ["c.txt"]
