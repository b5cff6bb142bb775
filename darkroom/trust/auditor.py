"""Check an audit log from its entries and checkpoints alone.

This file needs only the Python standard library and `cryptography`; it imports nothing
from darkroom, so an auditor can copy it out and run it on an exported bundle:

    python auditor.py bundle.json [--anchor studio-root.pem]

It is also the one implementation `darkroom audit verify` uses.

The log (RFC 6962 / RFC 9162 style):

- entry data d = canonical JSON of {v, index, time, kind, subject, payload, prev}
  (sorted keys, no whitespace, UTF-8); personal payload fields are AES-GCM ciphertext
  here, so erasing a subject's key leaves d, and every hash, unchanged;
- leaf hash = SHA-256(0x00 || d), stored with the entry as `hash`;
  `prev` is the previous entry's leaf hash (64 zeros for the first);
- Merkle tree hash MTH over the leaf hashes, node = SHA-256(0x01 || left || right);
- checkpoint = signed canonical JSON of {v, type, log, size, root, time}, with the
  signer's certificate chain; the chain must lead to a trusted root.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

GENESIS = "0" * 64
ENTRY_VERSION = 1
CHECKPOINT_TYPE = "darkroom-audit-checkpoint"
BUNDLE_FORMAT = "darkroom-audit-bundle/1"


# --- canonical form and hashes ------------------------------------------------------


def canonical_json(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def entry_data(index: int, time: str, kind: str, subject: str | None, payload: dict, prev: str) -> bytes:
    return canonical_json(
        {"v": ENTRY_VERSION, "index": index, "time": time, "kind": kind, "subject": subject,
         "payload": payload, "prev": prev}
    )


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def checkpoint_message(log: str, size: int, root: str, time: str) -> bytes:
    return canonical_json({"v": 1, "type": CHECKPOINT_TYPE, "log": log, "size": size, "root": root, "time": time})


# --- RFC 6962 Merkle tree -------------------------------------------------------------


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def merkle_root(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes (already H(0x00||d))."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    stack = _CompactRange()
    for leaf in leaves:
        stack.push(leaf)
    return stack.root()


class _CompactRange:
    """Perfect subtrees of the leaves pushed so far; the root at any size in O(log n)."""

    def __init__(self):
        self.nodes: list[tuple[int, bytes]] = []  # (height, hash), left to right
        self.size = 0

    def push(self, leaf: bytes) -> None:
        height, node = 0, leaf
        while self.nodes and self.nodes[-1][0] == height:
            _, left = self.nodes.pop()
            node, height = node_hash(left, node), height + 1
        self.nodes.append((height, node))
        self.size += 1

    def root(self) -> bytes:
        if not self.nodes:
            return hashlib.sha256(b"").digest()
        node = self.nodes[-1][1]
        for _, left in reversed(self.nodes[:-1]):
            node = node_hash(left, node)
        return node


def inclusion_proof(leaves: list[bytes], index: int) -> list[bytes]:
    """PATH(m, D[n]) of RFC 6962 section 2.1.1."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} is not in a tree of {len(leaves)}")
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return inclusion_proof(leaves[:k], index) + [merkle_root(leaves[k:])]
    return inclusion_proof(leaves[k:], index - k) + [merkle_root(leaves[:k])]


def verify_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 section 2.1.3.2: does `proof` put `leaf` at `index` in the tree `root`?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


# --- certificates and signatures ------------------------------------------------------


def _ec_hash(curve) -> hashes.HashAlgorithm:
    return {"secp384r1": hashes.SHA384(), "secp521r1": hashes.SHA512()}.get(curve.name, hashes.SHA256())


def verify_signature(cert: x509.Certificate, data: bytes, signature: bytes) -> bool:
    key = cert.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(_ec_hash(key.curve)))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def chains_to(chain: list[x509.Certificate], anchors: list[x509.Certificate]) -> bool:
    """Each certificate is issued by the next, and the last by (or is) a trust anchor."""
    if not chain:
        return False
    for child, parent in zip(chain, chain[1:]):
        try:
            child.verify_directly_issued_by(parent)
        except (ValueError, TypeError, InvalidSignature):
            return False
    last = chain[-1]
    for anchor in anchors:
        if last == anchor:
            return True
        try:
            last.verify_directly_issued_by(anchor)
            return True
        except (ValueError, TypeError, InvalidSignature):
            continue
    return False


# --- verification ---------------------------------------------------------------------


@dataclass
class Finding:
    entry: int | None  # the first entry this problem concerns (None: not an entry)
    message: str


@dataclass
class Verification:
    """What `verify_log` found. `ok` is False if anything is wrong."""

    size: int = 0
    root: str = ""
    checkpoints: int = 0
    covered: int = 0  # entries covered by the largest valid signed checkpoint
    problems: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad(self) -> int | None:
        bad = [p.entry for p in self.problems if p.entry is not None]
        return min(bad) if bad else None

    @property
    def uncovered(self) -> int:
        return self.size - self.covered

    def summary(self) -> str:
        if self.ok:
            text = (f"audit log intact: {self.size} entries, root {self.root[:16]}…, "
                    f"{self.checkpoints} signed checkpoint(s) verified")
            if self.uncovered:
                text += f"; the last {self.uncovered} entr{'y is' if self.uncovered == 1 else 'ies are'} " \
                        "chained but not yet under a signed checkpoint"
            return text
        first = self.first_bad
        head = "audit log FAILED verification" + (f": first bad entry is #{first}" if first is not None else "")
        return "\n".join([head] + [f"  - {p.message}" for p in self.problems])


def verify_log(
    entries: list[dict],
    checkpoints: list[dict],
    anchors: list[x509.Certificate],
    log_id: str | None = None,
    max_problems: int = 20,
) -> Verification:
    """Recompute every entry hash, the chain, the Merkle roots, and each checkpoint's
    signature. `entries` are dicts with index, time, kind, subject, payload (dict), prev,
    hash; `checkpoints` dicts with id, log, size, root, time, signature (base64), chain (PEM).
    """
    result = Verification(checkpoints=0)
    problems = result.problems

    def problem(entry: int | None, message: str) -> None:
        if len(problems) < max_problems:
            problems.append(Finding(entry, message))

    entries = sorted(entries, key=lambda e: e["index"])
    wanted = sorted({int(c["size"]) for c in checkpoints})
    roots_at: dict[int, bytes] = {}
    tree = _CompactRange()
    if 0 in wanted:
        roots_at[0] = tree.root()
    prev_stored = GENESIS
    position = 0
    for entry in entries:
        index = entry["index"]
        if index != position:
            if index > position:
                span = f"#{position}" if index == position + 1 else f"#{position}..#{index - 1}"
                problem(position, f"entry {span} missing: deleted from the log")
            else:
                problem(index, f"entry #{index} appears twice")
            position = index
        data = entry_data(index, entry["time"], entry["kind"], entry["subject"], entry["payload"], entry["prev"])
        leaf = leaf_hash(data)
        if leaf.hex() != entry["hash"]:
            problem(index, f"entry #{index} altered: its content no longer matches its hash")
        if entry["prev"] != prev_stored:
            problem(index, f"entry #{index} does not chain to entry #{index - 1} (prev hash mismatch)")
        prev_stored = entry["hash"]
        tree.push(leaf)  # the tree is built over what the content hashes to now
        position += 1
        if position in wanted:
            roots_at[position] = tree.root()
    result.size = len(entries)
    result.root = tree.root().hex()

    ids = sorted(int(c["id"]) for c in checkpoints)
    for expected, got in enumerate(ids, start=1):
        if got != expected:
            problem(None, f"checkpoint #{expected} missing: deleted from the log")
            break
    good_sizes: list[int] = [0]
    last_size = 0
    for cp in sorted(checkpoints, key=lambda c: int(c["id"])):
        cid, size = int(cp["id"]), int(cp["size"])
        label = f"checkpoint #{cid} (size {size}, {cp['time']})"
        try:
            chain = x509.load_pem_x509_certificates(cp["chain"].encode())
            signature = base64.b64decode(cp["signature"], validate=True)
        except (ValueError, TypeError):
            problem(None, f"{label} is malformed (certificate or signature cannot be read)")
            continue
        message = checkpoint_message(cp["log"], size, cp["root"], cp["time"])
        if not verify_signature(chain[0], message, signature):
            problem(None, f"{label}: signature invalid (checkpoint forged or altered)")
            continue
        if not chains_to(chain, anchors):
            problem(None, f"{label}: signed by a certificate that does not lead to a trusted root")
            continue
        if log_id is not None and cp["log"] != log_id:
            problem(None, f"{label}: belongs to another log ({cp['log']})")
            continue
        if size < last_size:
            problem(None, f"{label}: smaller than an earlier checkpoint (size {last_size}); the log was rolled back")
        last_size = max(last_size, size)
        result.checkpoints += 1
        if size > result.size:
            problem(result.size, f"log truncated: {label} signed {size} entries, only {result.size} remain; "
                                 f"entries #{result.size}..#{size - 1} are missing")
            continue
        if roots_at.get(size, b"").hex() != cp["root"]:
            start = max(s for s in good_sizes if s <= size)
            known = [p.entry for p in problems if p.entry is not None and start <= p.entry < size]
            if known:
                problem(min(known), f"{label}: entries #0..#{size - 1} no longer hash to the signed root "
                                    f"(see entry #{min(known)})")
            else:
                problem(start, f"{label}: entries #0..#{size - 1} no longer hash to the signed root; an entry in "
                               f"#{start}..#{size - 1} was altered, inserted or removed and the chain rewritten")
            continue
        good_sizes.append(size)
        result.covered = max(result.covered, size)
    return result


def verify_bundle(bundle: dict, anchors: list[x509.Certificate] | None = None) -> Verification:
    """Verify an exported bundle. Without `anchors`, the bundle's own anchors are used:
    compare their fingerprint with the one the studio published."""
    if bundle.get("format") != BUNDLE_FORMAT:
        raise ValueError(f"not a darkroom audit bundle (format {bundle.get('format')!r})")
    if anchors is None:
        anchors = x509.load_pem_x509_certificates(bundle["anchors"].encode()) if bundle.get("anchors") else []
    return verify_log(bundle["entries"], bundle["checkpoints"], anchors, bundle.get("log"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify an exported darkroom audit bundle.")
    parser.add_argument("bundle", help="the JSON bundle written by `darkroom audit export`")
    parser.add_argument("--anchor", help="PEM file with the studio root you trust "
                                         "(default: the roots inside the bundle; check their fingerprint)")
    args = parser.parse_args(argv)
    with open(args.bundle, encoding="utf-8") as handle:
        bundle = json.load(handle)
    anchors = None
    if args.anchor:
        with open(args.anchor, "rb") as handle:
            anchors = x509.load_pem_x509_certificates(handle.read())
    else:
        for cert in x509.load_pem_x509_certificates(bundle["anchors"].encode()) if bundle.get("anchors") else []:
            print(f"trusting the bundle's root {cert.subject.rfc4514_string()}, SHA-256 "
                  f"{hashlib.sha256(cert.public_bytes(_der())).hexdigest()}")
    report = verify_bundle(bundle, anchors)
    print(report.summary())
    return 0 if report.ok else 1


def _der():
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.DER


if __name__ == "__main__":
    sys.exit(main())
