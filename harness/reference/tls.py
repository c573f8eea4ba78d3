"""Throw-away certificate authorities and server certificates: the embedded fulfillment API's,
the embedded API server's own, the real control plane's.

The real services are served over TLS; the embedded ones are too, so the harness's TLS path is
exercised on every run. Keys are EC P-256, which are quick to generate.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@dataclass(frozen=True)
class ServerCertificate:
    """PEM bytes: a new CA, and a serving certificate and key it signed."""

    ca: bytes
    cert: bytes
    key: bytes


def write_server_certificate(directory: Path, hosts: list[str]) -> tuple[Path, Path, Path]:
    """Create `ca.crt`, `server.crt`, `server.key` in `directory`; return their paths."""
    return write_pem_files(directory, server_certificate(hosts))


def write_pem_files(directory: Path, pems: ServerCertificate) -> tuple[Path, Path, Path]:
    """`ca.crt`, `server.crt` and `server.key` (owner-only) in `directory`; their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_path = directory / "ca.crt"
    cert_path = directory / "server.crt"
    key_path = directory / "server.key"
    ca_path.write_bytes(pems.ca)
    cert_path.write_bytes(pems.cert)
    key_path.touch(mode=0o600)
    key_path.chmod(0o600)
    key_path.write_bytes(pems.key)
    return ca_path, cert_path, key_path


def server_certificate(hosts: list[str]) -> ServerCertificate:
    """A CA and a serving certificate for `hosts` (IP addresses or DNS names), valid a week."""
    now = datetime.now(UTC) - timedelta(minutes=5)
    later = now + timedelta(days=7)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("harness embedded CA"))
        .issuer_name(_name("harness embedded CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(later)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )

    alt_names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt_names.append(x509.DNSName(host))
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0]))
        .issuer_name(ca_cert.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(later)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    return ServerCertificate(
        ca=ca_cert.public_bytes(serialization.Encoding.PEM),
        cert=server_cert.public_bytes(serialization.Encoding.PEM),
        key=server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
