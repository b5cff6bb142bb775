"""The studio signing identity: created on first use, c2pa-compatible, private keys 0600."""

from __future__ import annotations

import datetime as dt
import os
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from darkroom.errors import IntegrityError
from darkroom.settings import Settings
from darkroom.trust.keys import SigningIdentityError, load_identity, trust_anchors_pem


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_studio_identity_is_created_once_with_private_files(darkroom_home):
    identity = load_identity(Settings())
    keys = darkroom_home / "keys"
    assert _mode(keys) == 0o700
    assert _mode(keys / "studio-root.key") == 0o600
    assert _mode(keys / "studio-signer.key") == 0o600
    again = load_identity(Settings())
    assert again.chain_pem == identity.chain_pem and again.key_pem == identity.key_pem
    assert identity.source == "studio" and identity.alg == "es256"


def test_leaf_certificate_meets_c2pa_requirements():
    identity = load_identity(Settings())
    leaf = identity.leaf
    root = x509.load_pem_x509_certificate(identity.root_pem)
    assert leaf.issuer == root.subject != leaf.subject  # not self-signed
    leaf.verify_directly_issued_by(root)
    assert isinstance(leaf.public_key(), ec.EllipticCurvePublicKey)
    assert leaf.public_key().curve.name == "secp256r1"
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and not usage.key_cert_sign
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert trust_anchors_pem(Settings()) == identity.root_pem


def test_readable_private_key_is_refused(darkroom_home):
    load_identity(Settings())
    os.chmod(darkroom_home / "keys" / "studio-signer.key", 0o644)
    with pytest.raises(IntegrityError, match="chmod 600"):
        load_identity(Settings())


def test_trust_anchors_never_create_keys(darkroom_home):
    assert trust_anchors_pem(Settings()) == b""
    assert not (darkroom_home / "keys").exists()


def _org_chain(tmp_path, self_signed_leaf: bool = False):
    """An 'organisation' CA and a leaf, as a user would bring them."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Example Org CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Example Org signer")])
    leaf = (x509.CertificateBuilder().subject_name(name).issuer_name(name if self_signed_leaf else ca_name)
            .public_key(key.public_key()).serial_number(2)
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(key if self_signed_leaf else ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    chain, key_file, ca_file = tmp_path / "chain.pem", tmp_path / "signer.key", tmp_path / "ca.pem"
    chain.write_bytes(leaf.public_bytes(pem))
    key_file.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    os.chmod(key_file, 0o600)
    ca_file.write_bytes(ca.public_bytes(pem))
    return chain, key_file, ca_file


def test_configured_chain_from_environment(tmp_path, monkeypatch):
    chain, key, ca = _org_chain(tmp_path)
    monkeypatch.setenv("DARKROOM_SIGNING_CHAIN", str(chain))
    monkeypatch.setenv("DARKROOM_SIGNING_KEY", str(key))
    monkeypatch.setenv("DARKROOM_TRUST_ANCHORS", str(ca))
    identity = load_identity(Settings())
    assert identity.source == "configured" and identity.alg == "es256"
    assert identity.leaf.subject.rfc4514_string() == "CN=Example Org signer"
    assert x509.load_pem_x509_certificates(identity.anchors_pem)[0].subject.rfc4514_string() == "CN=Example Org CA"
    assert not (Settings().home / "keys" / "studio-root.key").exists()  # no studio keys were made


def test_configured_chain_is_checked(tmp_path):
    chain, key, _ = _org_chain(tmp_path, self_signed_leaf=True)
    with pytest.raises(SigningIdentityError, match="self-signed"):
        load_identity(Settings(), chain, key)
    chain, key, _ = _org_chain(tmp_path)
    other = tmp_path / "other.key"
    other.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    os.chmod(other, 0o600)
    with pytest.raises(SigningIdentityError, match="does not belong"):
        load_identity(Settings(), chain, other)
    with pytest.raises(SigningIdentityError, match="both"):
        load_identity(Settings(), chain, None)


def test_configured_chain_signs_trusted_manifests(tmp_path, monkeypatch):
    import io

    from PIL import Image

    from darkroom.trust import provenance
    from darkroom.trust.marking import mark_image

    chain, key, ca = _org_chain(tmp_path)
    image = Image.new("RGB", (64, 64), "teal")
    untrusted = mark_image(image, parameters_text="p", recipe_json="{}", audit_ref="audit:0:00",
                           identity=load_identity(Settings(), chain, key))
    assert untrusted.report.c2pa_state == "Valid"  # signed fine; the org CA is not an anchor yet
    monkeypatch.setenv("DARKROOM_TRUST_ANCHORS", str(ca))
    identity = load_identity(Settings(), chain, key)
    info = provenance.read(untrusted.data, "png", trust_anchors_pem(Settings()))
    assert info.state == "Trusted" and info.signer == "Example Org signer"
    assert Image.open(io.BytesIO(untrusted.data)).size == (64, 64)
    assert identity.source == "configured"
