"""`darkroom policy check` and `darkroom policy show`."""

from __future__ import annotations

import json

import pytest

import darkroom.cli as cli


@pytest.fixture(autouse=True)
def only_policy_commands(monkeypatch):
    # other command groups are built by other people at the same time; test ours alone
    monkeypatch.setattr(cli, "COMMANDS", ["policy"])


def test_blocked_prompt_exits_3(capsys):
    rc = cli.main(["policy", "check", "a n.u.d.e ch1ld", "--terms-only"])
    out, err = capsys.readouterr()
    assert rc == 3
    assert "action:   block" in out and "sexual_minors" in out and "[absolute]" in out
    assert "blocked by policy" in err and "cannot be switched off" in err and "Traceback" not in err


def test_allowed_prompt_exits_0(capsys):
    rc = cli.main(["policy", "check", "naked tree branches in winter", "--negative", "nsfw, child"])
    out, _ = capsys.readouterr()
    assert rc == 0 and "action:   allow" in out and "policy:   2026.1+" in out


def test_zone_and_json(capsys):
    rc = cli.main(["policy", "check", "portrait of a child", "--zone", "nude", "--json", "--terms-only"])
    out, _ = capsys.readouterr()
    d = json.loads(out[: out.rindex("}") + 1])
    assert rc == 3 and d["action"] == "block" and d["category"] == "sexual_minors"
    assert "zones.0.prompt" in d["hits"][0]["fields"]


def test_warning_exits_0(capsys):
    rc = cli.main(["policy", "check", "bloody knife on a table", "--terms-only"])
    out, _ = capsys.readouterr()
    assert rc == 0 and "action:   warn" in out


def test_show_lists_categories_and_switchability(capsys, darkroom_home):
    darkroom_home.mkdir(parents=True, exist_ok=True)
    (darkroom_home / "policy.yaml").write_text("categories:\n  sexual_minors: off\n  graphic_violence: warn\n")
    rc = cli.main(["policy", "show"])
    out, err = capsys.readouterr()
    assert rc == 0
    rows = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert "no (abs.)" in rows["sexual_minors"] and " on " in rows["sexual_minors"]
    assert rows["graphic_violence"].split()[1:3] == ["yes", "warn"]
    assert "absolute" in err  # the ignored setting is reported
    rc = cli.main(["policy", "show", "--json"])
    data = json.loads(capsys.readouterr().out)
    by_id = {c["id"]: c for c in data["categories"]}
    assert by_id["sexual_minors"]["switchable"] is False and by_id["ncii"]["switchable"] is True
    assert set(by_id) == {"sexual_minors", "ncii", "sexualised_real_persons", "deceptive_deepfakes",
                          "extremist_symbols", "graphic_violence"}
