"""The audit log: real SQLite, real signatures, real tampering with the file."""

from __future__ import annotations

import argparse
import json
import sqlite3

import pytest

from darkroom.settings import Settings
from darkroom.trust import auditor
from darkroom.trust.audit import SHREDDED, AuditLog

# RFC 6962 test vectors (certificate-transparency): MTH of the first n of these inputs.
CT_INPUTS = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43",
             bytes(range(0x50, 0x58)), bytes(range(0x60, 0x70))]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def _filled(n: int = 10, checkpoint_at: int | None = None) -> AuditLog:
    log = AuditLog(Settings(), checkpoint_every=0)
    for i in range(n):
        log.append("step", {"op": "generate", "seed": i, "prompt": f"a red fox {i}"},
                   subject="alice" if i % 2 else None)
        if checkpoint_at is not None and i + 1 == checkpoint_at:
            log.checkpoint()
    return log


def _tamper(log: AuditLog, *sql: str) -> None:
    """Edit the real database file the way someone with file access would."""
    db = sqlite3.connect(log.path)
    for trigger in ("audit_entries_no_update", "audit_entries_no_delete",
                    "audit_checkpoints_no_update", "audit_checkpoints_no_delete"):
        db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    for statement in sql:
        db.execute(statement)
    db.commit()
    db.close()


def test_merkle_tree_matches_rfc6962_vectors():
    leaves = [auditor.leaf_hash(d) for d in CT_INPUTS]
    for n, expected in enumerate(CT_ROOTS, start=1):
        assert auditor.merkle_root(leaves[:n]).hex() == expected
    assert auditor.merkle_root([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_inclusion_proofs_verify_and_reject_wrong_positions():
    for n in range(1, 14):
        leaves = [auditor.leaf_hash(bytes([i])) for i in range(n)]
        root = auditor.merkle_root(leaves)
        for i in range(n):
            proof = auditor.inclusion_proof(leaves, i)
            assert auditor.verify_inclusion(leaves[i], i, n, proof, root)
            if n > 1:
                assert not auditor.verify_inclusion(leaves[i], (i + 1) % n, n, proof, root)
                assert not auditor.verify_inclusion(auditor.leaf_hash(b"forged"), i, n, proof, root)


def test_append_chains_entries_and_log_verifies():
    log = _filled(10, checkpoint_at=10)
    entries = log.entries()
    assert [e.index for e in entries] == list(range(10))
    assert entries[0].prev == auditor.GENESIS
    assert all(b.prev == a.hash for a, b in zip(entries, entries[1:]))
    assert entries[3].ref == f"audit:3:{entries[3].hash[:16]}"
    assert log.resolve(entries[3].ref) == entries[3]
    report = log.verify()
    assert report.ok, report.summary()
    assert report.size == 10 and report.checkpoints == 1 and report.uncovered == 0
    proof = [bytes.fromhex(h) for h in log.proof(7)]
    assert auditor.verify_inclusion(bytes.fromhex(entries[7].hash), 7, 10, proof, bytes.fromhex(log.root()))


def test_automatic_checkpoints():
    log = AuditLog(Settings(), checkpoint_every=4)
    for i in range(9):
        log.append("step", {"i": i})
    assert [c.size for c in log.checkpoints()] == [4, 8]
    assert log.verify().ok


def test_triggers_refuse_update_and_delete():
    log = _filled(3)
    db = sqlite3.connect(log.path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit_entries SET kind = 'x' WHERE idx = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit_entries WHERE idx = 2")
    db.close()


def test_personal_fields_are_encrypted_at_rest_and_shredding_keeps_the_log_verifiable():
    log = _filled(6, checkpoint_at=6)
    raw = {row[0]: row[1] for row in sqlite3.connect(log.path).execute("SELECT idx, payload FROM audit_entries")}
    assert "red fox" not in "".join(raw.values())  # prompts are ciphertext in the database
    assert "$enc" in raw[1]
    assert log.entry(1).payload["prompt"] == "a red fox 1" and log.entry(1).subject == "alice"
    assert log.entry(0).subject == "local"  # personal fields without a subject belong to the local user

    assert log.shred("alice") == 3
    assert log.entry(1).payload["prompt"] == SHREDDED
    assert log.entry(1).payload["seed"] == 1  # non-personal fields stay readable
    assert log.entry(1).subject.startswith("subj-")  # only the pseudonym is left
    assert log.entry(2).payload["prompt"] == "a red fox 2"  # other subjects untouched
    names = [n for (n,) in sqlite3.connect(log.path).execute("SELECT name FROM audit_subjects")]
    assert "alice" not in names
    erasure = log.last(1)[0]
    assert erasure.kind == "erasure" and erasure.payload["entries"] == 3 and "alice" not in str(erasure)
    assert log.verify().ok
    assert log.shred("alice") == 0


def test_edited_row_is_detected_and_named():
    log = _filled(10, checkpoint_at=10)
    _tamper(log, """UPDATE audit_entries SET payload = replace(payload, '"seed":4', '"seed":5') WHERE idx = 4""")
    report = log.verify()
    assert not report.ok
    assert report.first_bad == 4
    assert "entry #4 altered" in report.summary()


def test_deleted_row_is_detected_and_named():
    log = _filled(10, checkpoint_at=10)
    _tamper(log, "DELETE FROM audit_entries WHERE idx = 6")
    report = log.verify()
    assert not report.ok and report.first_bad == 6
    assert "entry #6 missing" in report.summary()


def test_truncation_is_detected_by_the_signed_checkpoint():
    log = _filled(10, checkpoint_at=10)
    _tamper(log, "DELETE FROM audit_entries WHERE idx >= 7")
    report = log.verify()
    assert not report.ok and report.first_bad == 7
    assert "truncated" in report.summary()


def test_rewritten_chain_is_caught_by_the_checkpoint_root():
    """An attacker who edits entry 2 and recomputes every later hash still fails the signed root."""
    log = _filled(8, checkpoint_at=4)
    log.checkpoint()  # size 8
    entries, _ = log._raw()
    entries[5]["payload"]["seed"] = 99
    prev = entries[4]["hash"]
    statements = []
    for e in entries[5:]:
        data = auditor.entry_data(e["index"], e["time"], e["kind"], e["subject"], e["payload"], prev)
        digest = auditor.leaf_hash(data).hex()
        statements.append(
            f"UPDATE audit_entries SET payload = '{auditor.canonical_json(e['payload']).decode()}', "
            f"prev = '{prev}', hash = '{digest}' WHERE idx = {e['index']}"
        )
        prev = digest
    _tamper(log, *statements)
    report = log.verify()
    assert not report.ok
    assert report.first_bad == 4  # after the last checkpoint that still matches (size 4)
    assert "no longer hash to the signed root" in report.summary()


def test_forged_or_altered_checkpoint_is_detected():
    log = _filled(6, checkpoint_at=6)
    _tamper(log, "UPDATE audit_checkpoints SET size = 5 WHERE id = 1")
    report = log.verify()
    assert not report.ok and "signature invalid" in report.summary()


def test_checkpoint_signed_by_a_foreign_key_is_rejected(tmp_path):
    from darkroom.trust.keys import load_identity

    log = _filled(4)
    stranger = load_identity(Settings(home=tmp_path / "elsewhere"))
    AuditLog(log.settings, identity=stranger, checkpoint_every=0).checkpoint()
    report = log.verify()
    assert not report.ok and "does not lead to a trusted root" in report.summary()


def test_deleted_checkpoint_is_detected():
    log = _filled(4, checkpoint_at=2)
    log.checkpoint()
    log.checkpoint()
    _tamper(log, "DELETE FROM audit_checkpoints WHERE id = 2")
    report = log.verify()
    assert not report.ok and "checkpoint #2 missing" in report.summary()


def test_exported_bundle_verifies_without_the_database(tmp_path, capsys):
    log = _filled(5, checkpoint_at=5)
    bundle_path = log.export(tmp_path / "bundle.json")
    bundle = json.loads(bundle_path.read_text())
    assert "red fox" not in bundle_path.read_text()  # personal fields stay encrypted
    assert auditor.main([str(bundle_path)]) == 0
    anchor = tmp_path / "root.pem"
    anchor.write_bytes((log.settings.home / "keys" / "studio-root.pem").read_bytes())
    assert auditor.main([str(bundle_path), "--anchor", str(anchor)]) == 0
    bundle["entries"][2]["kind"] = "nothing to see"
    bundle_path.write_text(json.dumps(bundle))
    assert auditor.main([str(bundle_path)]) == 1
    assert "entry #2 altered" in capsys.readouterr().out


def _cli(argv: list[str]) -> int:
    from darkroom.cli import audit as audit_cli

    parser = argparse.ArgumentParser()
    audit_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.run(args)


def test_cli_audit_verify_show_checkpoint(capsys):
    log = _filled(3)
    assert _cli(["audit", "checkpoint"]) == 0
    assert _cli(["audit", "verify"]) == 0
    assert "intact: 3 entries" in capsys.readouterr().out
    assert _cli(["audit", "show", "--last", "2"]) == 0
    out = capsys.readouterr().out
    assert "#1" in out and "#2" in out and "#0 " not in out and "a red fox 2" in out
    _tamper(log, "UPDATE audit_entries SET time = '2020-01-01T00:00:00Z' WHERE idx = 1")
    assert _cli(["audit", "verify"]) == 1
    assert "first bad entry is #1" in capsys.readouterr().out
