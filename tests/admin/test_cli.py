"""The CLI as a user meets it: validate prints every problem located; load, show, users, tokens."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from engine.storage.tables import api_tokens

REPO = Path(__file__).resolve().parents[2]


def test_validate_broken_file_prints_every_problem_with_its_line(runner, tmp_path):
    text = (REPO / "configs" / "retail-default.yaml").read_text(encoding="utf-8")
    broken = text.replace("owner: buyer", "owner: buyers").replace("cooldown: 24h", "cooldown: 24 hours")
    path = tmp_path / "broken.yaml"
    path.write_text(broken, encoding="utf-8")
    result = runner.invoke(args=["ruleset", "validate", str(path)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith(str(path))]
    assert len(lines) >= 2
    owner_line = broken.splitlines().index(next(x for x in broken.splitlines() if "owner: buyers" in x)) + 1
    assert any(line.startswith(f"{path}:{owner_line}: rules[0].owner: ") and "did you mean 'buyer'" in line
               for line in lines), lines
    assert any("rules[0].cooldown" in line and "24 hours" in line for line in lines), lines


def test_validate_good_file(runner):
    result = runner.invoke(args=["ruleset", "validate", str(REPO / "configs" / "demo-ruleset.yaml")])
    assert result.exit_code == 0 and "valid" in result.output


def test_load_show_versions_activate_diff(runner, tmp_path):
    example = REPO / "configs" / "retail-default.yaml"
    loaded = runner.invoke(args=["ruleset", "load", str(example)]).output.strip().splitlines()
    assert loaded[0].endswith("version 1")
    # the changed rules were evaluated over the current stock at once (#17): none yet
    assert loaded[1].startswith("evaluated ") and "0 alert(s) opened" in loaded[1], loaded
    changed = tmp_path / "changed.yaml"
    changed.write_text(example.read_text(encoding="utf-8").replace("severity: high", "severity: low"),
                       encoding="utf-8")
    assert "version 2" in runner.invoke(args=["ruleset", "load", str(changed), "--comment", "calmer"]).output
    shown = runner.invoke(args=["ruleset", "show"]).output
    assert shown.startswith("# version 2") and "severity: low" in shown
    assert "calmer" in runner.invoke(args=["ruleset", "versions"]).output
    assert runner.invoke(args=["ruleset", "activate", "1"]).exit_code == 0
    assert runner.invoke(args=["ruleset", "show"]).output.startswith("# version 1")
    assert "+    severity: low" in runner.invoke(args=["ruleset", "diff", "1", "2"]).output


def test_load_invalid_file_changes_nothing(runner, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("ruleset: x\nrules: [{id: r1}]\n", encoding="utf-8")
    result = runner.invoke(args=["ruleset", "load", str(bad)])
    assert result.exit_code == 1 and "nothing was changed" in result.output
    assert "no ruleset loaded" in runner.invoke(args=["ruleset", "show"]).output


def test_token_is_printed_last_and_stored_hashed(runner, services):
    assert runner.invoke(args=["users", "create", "bot", "--no-password"]).exit_code == 0
    token = runner.invoke(args=["tokens", "create", "bot"]).output.strip().splitlines()[-1]
    assert token.startswith("sw_") and len(token) > 40
    with services.db.connect() as conn:
        stored = conn.execute(select(api_tokens.c.token_hash, api_tokens.c.prefix)).one()
    assert token not in stored.token_hash and len(stored.token_hash) == 64
    assert runner.invoke(args=["tokens", "create", "ghost"]).exit_code == 1


def test_users_create_refuses_duplicates_and_short_passwords(runner):
    assert runner.invoke(args=["users", "create", "ann", "--password", "long-enough-1"]).exit_code == 0
    dup = runner.invoke(args=["users", "create", "ann", "--password", "long-enough-1"])
    assert dup.exit_code == 1 and "already exists" in dup.output
    short = runner.invoke(args=["users", "create", "bea", "--password", "short"])
    assert short.exit_code == 1


def test_revoked_token_gets_401(runner, client):
    runner.invoke(args=["users", "create", "eve", "--no-password"])
    token = runner.invoke(args=["tokens", "create", "eve"]).output.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/ruleset", headers=headers).status_code == 200
    assert runner.invoke(args=["tokens", "revoke", token[:10]]).output.strip() == "revoked 1 token(s)"
    assert client.get("/api/v1/ruleset", headers=headers).status_code == 401
