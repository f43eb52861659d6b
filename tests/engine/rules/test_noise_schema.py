"""The rule document's noise control (issue #17): ``notify: {digest: daily}``, a role's
``rate_limit`` and ``quiet_hours`` — located errors for bad values, and a warning for a digest
on a channel nobody configured."""

from __future__ import annotations

from textwrap import dedent

from engine.rules.advice import advice
from engine.rules.loader import load_ruleset, validate_ruleset

DOC = dedent("""\
    ruleset: x
    roles:
      - {id: buyer, members: [alice], channels: [email, wecom], rate_limit: RATE, quiet_hours: QUIET}
    workflows:
      - {id: w, states: [open, done], transitions: [{id: done, from: [open], to: done, roles: [buyer]}]}
    rules:
      - id: low
        owner: buyer
        when: {"<": [{"var": "stock.available"}, 5]}
        actions:
          - notify: {to: owner, DIGEST}
    """)


def doc(rate: str = "10", quiet: str = '"22:00-08:00"', digest: str = "digest: daily") -> str:
    return DOC.replace("RATE", rate).replace("QUIET", quiet).replace("DIGEST", digest)


def test_the_noise_settings_load() -> None:
    compiled = load_ruleset(doc())
    role = compiled.roles["buyer"]
    assert (role.rate_limit, role.quiet_hours, role.limit_for("email")) == (10, "22:00-08:00", 10)
    assert compiled.rules[0].actions[0].digest == "daily"
    per_channel = load_ruleset(doc(rate="{email: 3, wecom: 20}")).roles["buyer"]
    assert (per_channel.limit_for("email"), per_channel.limit_for("wecom"),
            per_channel.limit_for("sms")) == (3, 20, None)


def test_a_bad_digest_is_located_with_its_choices() -> None:
    problems = validate_ruleset(doc(digest="digest: hourly"))
    assert [(p.path, p.line) for p in problems] == [("rules[0].actions[0].notify.digest", 11)]
    assert "daily" in problems[0].message


def test_bad_rate_limits_and_quiet_hours_are_located() -> None:
    problems = validate_ruleset(doc(rate="0", quiet='"22h-8h"'))
    found = {p.path: p.message for p in problems}
    assert set(found) == {"roles[0].rate_limit", "roles[0].quiet_hours"}
    assert "from 1 to 10000" in found["roles[0].rate_limit"]
    assert "22:00" in found["roles[0].quiet_hours"]
    problems = validate_ruleset(doc(rate="{emial: 3}"))
    assert [p.path for p in problems] == ["roles[0].rate_limit"]
    assert "did you mean 'email'" in problems[0].message


def test_a_digest_on_a_channel_nobody_configured_is_a_located_warning() -> None:
    compiled = load_ruleset(doc())
    warnings = advice(compiled, frozenset({"email"}))
    assert [(w.path, w.code) for w in warnings] == [
        ("rules[0].actions[0].notify.digest", "channel_not_configured")]
    assert "wecom" in warnings[0].message and "configured channels: email" in warnings[0].message
    assert advice(compiled, frozenset({"email", "wecom"})) == []
    assert advice(compiled) == []  # the installation's channels unknown: nothing said
