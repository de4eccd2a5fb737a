"""A local certificate authority, so that DingTalk clients that hard-code
``https://oapi.dingtalk.com`` can talk to Gong without a change to their code.

:func:`init` makes (once) a CA key and certificate, and (each time) a server certificate for
``oapi.dingtalk.com``, ``localhost``, ``127.0.0.1`` and any other names asked for, signed by that
CA, in ``<data dir>/tls``. ``gong serve --tls-port`` serves HTTPS with it. A client trusts the CA
(``REQUESTS_CA_BUNDLE``, ``SSL_CERT_FILE``, ``NODE_EXTRA_CA_CERTS``, ``keytool``) and resolves
``oapi.dingtalk.com`` to Gong (a hosts-file line): see ``docs/clients.md``.

Keys are ECDSA P-256 and are written readable by their owner only.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["DINGTALK_HOST", "TlsFiles", "init", "names_of", "tls_files"]

DINGTALK_HOST = "oapi.dingtalk.com"
#: Names every server certificate holds, before those asked for.
DEFAULT_NAMES = (DINGTALK_HOST, "localhost", "127.0.0.1", "::1")
CA_DAYS = 3650
#: Below the 825 days clients such as Apple's accept for a server certificate.
CERT_DAYS = 820


@dataclass(frozen=True, slots=True)
class TlsFiles:
    ca: Path
    ca_key: Path
    cert: Path
    key: Path

    def ready(self) -> bool:
        return self.cert.is_file() and self.key.is_file() and self.ca.is_file()


def tls_files(data_dir: Path) -> TlsFiles:
    folder = data_dir.resolve() / "tls"
    return TlsFiles(
        ca=folder / "ca.pem",
        ca_key=folder / "ca-key.pem",
        cert=folder / "cert.pem",
        key=folder / "key.pem",
    )


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


def _key_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _ca(files: TlsFiles, now: dt.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    if files.ca.is_file() and files.ca_key.is_file():
        cert = x509.load_pem_x509_certificate(files.ca.read_bytes())
        key = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
        if isinstance(key, ec.EllipticCurvePrivateKey) and cert.not_valid_after_utc > now:
            return cert, key
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Gong"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Gong local CA"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(files.ca_key, _key_bytes(key))
    files.ca.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _alt_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def names_of(extra: Sequence[str]) -> list[str]:
    """The names a server certificate holds: the defaults, then ``extra`` (once each)."""
    names: list[str] = []
    for name in (*DEFAULT_NAMES, *extra):
        clean = name.strip().lower().rstrip(".")
        if clean and clean not in names:
            names.append(clean)
    return names


def init(
    data_dir: Path, extra_names: Sequence[str] = (), *, now: dt.datetime | None = None
) -> TlsFiles:
    """Make the CA (kept when it exists) and a new server certificate for
    :data:`DINGTALK_HOST`, ``localhost`` and ``extra_names``; return where they are."""
    now = now or dt.datetime.now(dt.UTC)
    files = tls_files(data_dir)
    files.ca.parent.mkdir(parents=True, exist_ok=True)
    ca_cert, ca_key = _ca(files, now)
    names = names_of(extra_names)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CERT_DAYS))
        .add_extension(x509.SubjectAlternativeName([_alt_name(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(files.key, _key_bytes(key))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return files
