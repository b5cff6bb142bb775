"""The studio's signing identity: who signs C2PA manifests and audit checkpoints.

On first use darkroom creates, in `<home>/keys/`:

    studio-root.pem / studio-root.key       a local root CA (P-256, 10 years)
    studio-signer.pem / studio-signer.key   a leaf certificate issued by that root
                                            (P-256, ES256, `Settings.certificate_days`, 2 years by
                                            default, renewed when < 30 days left)

`rotate_leaf` (`darkroom keys rotate`) makes a new leaf under the same root now: pictures
signed with an earlier leaf keep verifying, because verification trusts the root. A
signature without a time-stamp turns invalid (`signingCredential.expired`) when its leaf
expires; configure a time-stamp authority (`Settings.tsa_url`) so it does not.

The leaf meets what c2pa requires of a signing certificate: not self-signed, keyUsage
digitalSignature, extendedKeyUsage emailProtection. Private keys are written 0600 in a
0700 folder.

Instead, users can bring their own chain and key (e.g. from their organisation): set
DARKROOM_SIGNING_CHAIN and DARKROOM_SIGNING_KEY to PEM files (leaf first, then
intermediates), or pass the paths to `load_identity`. Extra roots to trust when verifying
go in `<home>/keys/trust-anchors.pem` or the file named by DARKROOM_TRUST_ANCHORS.
"""

from __future__ import annotations

import datetime as _dt
import fcntl
import hashlib
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from darkroom.errors import DarkroomError, IntegrityError
from darkroom.fsutil import write_atomic
from darkroom.settings import Settings

ROOT_CERT, ROOT_KEY = "studio-root.pem", "studio-root.key"
LEAF_CERT, LEAF_KEY = "studio-signer.pem", "studio-signer.key"
ANCHORS_FILE = "trust-anchors.pem"
ROOT_DAYS, LEAF_DAYS, RENEW_DAYS = 3650, 730, 30


class SigningIdentityError(DarkroomError):
    """The configured certificate chain or key cannot be used for signing."""


@dataclass(frozen=True)
class StudioIdentity:
    """A certificate chain, its private key, and the roots a verifier should trust."""

    chain_pem: bytes  # leaf first, then intermediates (no root needed)
    key_pem: bytes  # PKCS#8, unencrypted
    anchors_pem: bytes  # trust anchors: the studio root (if local) + configured anchors
    alg: str  # c2pa algorithm name: es256, es384, es512, ps256, ed25519
    source: str  # "studio" (created by darkroom) or "configured"
    root_pem: bytes | None = None  # the studio's own root, when source == "studio"
    _key: object = field(default=None, repr=False, compare=False)

    @property
    def leaf(self) -> x509.Certificate:
        return x509.load_pem_x509_certificates(self.chain_pem)[0]

    @property
    def private_key(self):
        if self._key is None:
            object.__setattr__(self, "_key", serialization.load_pem_private_key(self.key_pem, None))
        return self._key

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the root (or, for a configured chain, the leaf) certificate, hex."""
        cert = x509.load_pem_x509_certificate(self.root_pem) if self.root_pem else self.leaf
        return cert_fingerprint(cert)

    def sign(self, data: bytes) -> bytes:
        """Sign `data` with the leaf key (used for audit checkpoints)."""
        return sign_with_key(self.private_key, data)


def cert_fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def sign_with_key(key, data: bytes) -> bytes:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(_ec_hash(key.curve)))
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    raise SigningIdentityError(f"unsupported key type {type(key).__name__}")


def keys_dir(settings: Settings) -> Path:
    return settings.home / "keys"


def load_identity(
    settings: Settings | None = None,
    chain_path: str | os.PathLike | None = None,
    key_path: str | os.PathLike | None = None,
) -> StudioIdentity:
    """The signing identity: a configured chain+key if given, else the studio's own
    (created on first use)."""
    settings = settings or Settings()
    chain_path = chain_path or os.environ.get("DARKROOM_SIGNING_CHAIN") or None
    key_path = key_path or os.environ.get("DARKROOM_SIGNING_KEY") or None
    if bool(chain_path) != bool(key_path):
        raise SigningIdentityError(
            "a configured signing identity needs both a certificate chain and a key: "
            "set DARKROOM_SIGNING_CHAIN and DARKROOM_SIGNING_KEY (PEM files)"
        )
    if chain_path:
        return _configured_identity(settings, Path(chain_path), Path(key_path))
    return _studio_identity(settings)


def trust_anchors_pem(settings: Settings | None = None) -> bytes:
    """The roots `darkroom verify` trusts: the studio root plus configured anchors.

    Never creates keys: verifying a file must not mint a new identity.
    """
    settings = settings or Settings()
    parts: list[bytes] = []
    root = keys_dir(settings) / ROOT_CERT
    if root.exists():
        parts.append(root.read_bytes())
    parts.extend(_configured_anchor_files(settings))
    return _normalise_pem(b"".join(parts))


# --- the studio's own chain -------------------------------------------------------


def _studio_identity(settings: Settings) -> StudioIdentity:
    folder = keys_dir(settings)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    with _locked(folder):
        if not (folder / ROOT_CERT).exists() or not (folder / ROOT_KEY).exists():
            _create_root(folder)
        if not (folder / LEAF_CERT).exists() or not (folder / LEAF_KEY).exists() or _needs_renewal(folder, settings.certificate_days):
            _create_leaf(folder, settings.certificate_days)
    for name in (ROOT_KEY, LEAF_KEY):
        if (folder / name).stat().st_mode & 0o077:
            raise IntegrityError(
                f"{folder / name} is readable by other users; run `chmod 600 {folder / name}`"
            )
    root_pem = (folder / ROOT_CERT).read_bytes()
    anchors = _normalise_pem(root_pem + b"".join(_configured_anchor_files(settings)))
    return StudioIdentity(
        chain_pem=(folder / LEAF_CERT).read_bytes(),
        key_pem=(folder / LEAF_KEY).read_bytes(),
        anchors_pem=anchors,
        alg="es256",
        source="studio",
        root_pem=root_pem,
    )


@contextmanager
def _locked(folder: Path):
    with open(folder / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "darkroom studio (local)"),
        ]
    )


def _key_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _usage(**on: bool) -> x509.KeyUsage:
    names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
    return x509.KeyUsage(**{n: on.get(n, False) for n in names})


def _create_root(folder: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(f"darkroom studio root {os.urandom(4).hex()}")
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(minutes=5))
        .not_valid_after(now + _dt.timedelta(days=ROOT_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_atomic(folder / ROOT_KEY, _key_pem(key))  # mkstemp: 0600 from the start
    os.chmod(folder / ROOT_KEY, 0o600)
    write_atomic(folder / ROOT_CERT, cert.public_bytes(serialization.Encoding.PEM))
    os.chmod(folder / ROOT_CERT, 0o644)
    # A new root invalidates any old leaf.
    (folder / LEAF_CERT).unlink(missing_ok=True)


def rotate_leaf(settings: Settings | None = None) -> StudioIdentity:
    """A new studio signing certificate under the same root (the old one is kept as
    studio-signer.pem.<serial>), valid for `settings.certificate_days`."""
    settings = settings or Settings()
    if os.environ.get("DARKROOM_SIGNING_CHAIN"):
        raise SigningIdentityError("a configured signing chain (DARKROOM_SIGNING_CHAIN) is renewed by whoever "
                                   "issued it, not by darkroom")
    load_identity(settings)  # creates root and leaf if there are none yet
    folder = keys_dir(settings)
    with _locked(folder):
        old = x509.load_pem_x509_certificate((folder / LEAF_CERT).read_bytes())
        write_atomic(folder / f"{LEAF_CERT}.{old.serial_number:x}", old.public_bytes(serialization.Encoding.PEM))
        _create_leaf(folder, settings.certificate_days)
    return load_identity(settings)


@dataclass(frozen=True)
class CertificateStatus:
    source: str  # "studio", "configured" or "none" (no identity yet)
    subject: str = ""
    not_after: _dt.datetime | None = None
    days_left: int | None = None
    root_not_after: _dt.datetime | None = None
    tsa_url: str = ""


def certificate_status(settings: Settings | None = None) -> CertificateStatus:
    """When the signing certificate ends, without creating one."""
    settings = settings or Settings()
    chain = os.environ.get("DARKROOM_SIGNING_CHAIN")
    path = Path(chain) if chain else keys_dir(settings) / LEAF_CERT
    if not path.is_file():
        return CertificateStatus("none", tsa_url=settings.tsa_url)
    leaf = x509.load_pem_x509_certificates(path.read_bytes())[0]
    root_path = keys_dir(settings) / ROOT_CERT
    root_end = x509.load_pem_x509_certificate(root_path.read_bytes()).not_valid_after_utc \
        if root_path.is_file() and not chain else None
    return CertificateStatus("configured" if chain else "studio", leaf.subject.rfc4514_string(),
                             leaf.not_valid_after_utc, (leaf.not_valid_after_utc - _now()).days, root_end,
                             settings.tsa_url)


def _create_leaf(folder: Path, days: int = LEAF_DAYS) -> None:
    root_key = serialization.load_pem_private_key((folder / ROOT_KEY).read_bytes(), None)
    root = x509.load_pem_x509_certificate((folder / ROOT_CERT).read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    if not 1 <= int(days) <= ROOT_DAYS:
        raise SigningIdentityError(f"certificate_days must be between 1 and {ROOT_DAYS}, not {days}")
    not_after = min(now + _dt.timedelta(days=int(days)), root.not_valid_after_utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("darkroom studio signer"))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False
        )
        .sign(root_key, hashes.SHA256())
    )
    write_atomic(folder / LEAF_KEY, _key_pem(key))
    os.chmod(folder / LEAF_KEY, 0o600)
    write_atomic(folder / LEAF_CERT, cert.public_bytes(serialization.Encoding.PEM))
    os.chmod(folder / LEAF_CERT, 0o644)


def _needs_renewal(folder: Path, days: int = LEAF_DAYS) -> bool:
    leaf = x509.load_pem_x509_certificate((folder / LEAF_CERT).read_bytes())
    root = x509.load_pem_x509_certificate((folder / ROOT_CERT).read_bytes())
    if leaf.issuer != root.subject:
        return True
    # a short lifetime (a test, a cautious organisation) renews in its last quarter, not every day
    return leaf.not_valid_after_utc - _now() < _dt.timedelta(days=min(RENEW_DAYS, max(1, int(days)) / 4))


# --- a configured chain -----------------------------------------------------------


def _configured_identity(settings: Settings, chain_path: Path, key_path: Path) -> StudioIdentity:
    try:
        chain_pem = chain_path.read_bytes()
        key_pem = key_path.read_bytes()
        chain = x509.load_pem_x509_certificates(chain_pem)
        key = serialization.load_pem_private_key(key_pem, None)
    except FileNotFoundError as err:
        raise SigningIdentityError(f"signing file not found: {err.filename}") from err
    except (ValueError, TypeError) as err:
        raise SigningIdentityError(
            f"cannot read the signing chain {chain_path} or key {key_path} "
            f"(PEM certificates and an unencrypted PKCS#8 key are needed): {err}"
        ) from err
    if key_path.stat().st_mode & 0o077:
        raise SigningIdentityError(f"{key_path} is readable by other users; run `chmod 600 {key_path}`")
    leaf = chain[0]
    if leaf.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ):
        raise SigningIdentityError(f"the key in {key_path} does not belong to the first certificate in {chain_path}")
    _check_c2pa_profile(leaf)
    # The root, if the user included it, is a trust anchor, not part of the signing chain.
    signing = [c for c in chain if c.issuer != c.subject] or [leaf]
    roots = [c for c in chain if c.issuer == c.subject]
    anchors = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in roots)
    anchors += b"".join(_configured_anchor_files(settings))
    local_root = keys_dir(settings) / ROOT_CERT
    if local_root.exists():
        anchors += local_root.read_bytes()
    return StudioIdentity(
        chain_pem=b"".join(c.public_bytes(serialization.Encoding.PEM) for c in signing),
        key_pem=_key_pem(key),
        anchors_pem=_normalise_pem(anchors),
        alg=_c2pa_alg(key),
        source="configured",
        _key=key,
    )


def _check_c2pa_profile(leaf: x509.Certificate) -> None:
    """The parts of the C2PA signing-certificate profile that c2pa otherwise reports only
    as "the certificate is invalid"."""
    if leaf.issuer == leaf.subject:
        raise SigningIdentityError("C2PA does not accept a self-signed signing certificate; use a leaf issued by a CA")
    ext = leaf.extensions

    def get(kind):
        try:
            return ext.get_extension_for_class(kind).value
        except x509.ExtensionNotFound:
            return None

    basic = get(x509.BasicConstraints)
    if basic is not None and basic.ca:
        raise SigningIdentityError("the signing certificate is a CA certificate; C2PA needs an end-entity certificate")
    usage = get(x509.KeyUsage)
    if usage is None or not usage.digital_signature:
        raise SigningIdentityError("the signing certificate needs keyUsage digitalSignature")
    if get(x509.ExtendedKeyUsage) is None:
        raise SigningIdentityError("the signing certificate needs an extendedKeyUsage (e.g. emailProtection or "
                                   "documentSigning)")
    if get(x509.AuthorityKeyIdentifier) is None:
        raise SigningIdentityError("the signing certificate needs an authorityKeyIdentifier extension")


def _c2pa_alg(key) -> str:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}[key.curve.name]
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    raise SigningIdentityError(f"unsupported key type {type(key).__name__}: use EC P-256/384/521, RSA or Ed25519")


def _ec_hash(curve) -> hashes.HashAlgorithm:
    return {"secp384r1": hashes.SHA384(), "secp521r1": hashes.SHA512()}.get(curve.name, hashes.SHA256())


def _configured_anchor_files(settings: Settings) -> list[bytes]:
    paths = [keys_dir(settings) / ANCHORS_FILE]
    if os.environ.get("DARKROOM_TRUST_ANCHORS"):
        paths.append(Path(os.environ["DARKROOM_TRUST_ANCHORS"]).expanduser())
    return [p.read_bytes() for p in paths if p.is_file()]


def _normalise_pem(pem: bytes) -> bytes:
    """Parse and re-emit certificates: drops junk, de-duplicates, validates."""
    if not pem.strip():
        return b""
    try:
        certs = x509.load_pem_x509_certificates(pem)
    except ValueError as err:
        raise SigningIdentityError(f"a trust anchor file does not contain PEM certificates: {err}") from err
    out: list[bytes] = []
    for cert in certs:
        blob = cert.public_bytes(serialization.Encoding.PEM)
        if blob not in out:
            out.append(blob)
    return b"".join(out)
