"""Templates are checked when the rule document is saved (issue #13), not when a rule fires:
what the sandbox refuses, and names that are not facts, each with its place and line."""

from __future__ import annotations

import pytest

from engine.rules.loader import load_ruleset, validate_ruleset

HEAD = """\
ruleset: templates
roles: [{id: buyer, members: [alice]}]
workflows:
  - {id: w, states: [open, done], transitions: [{id: resolve, from: [open], to: done, roles: [buyer]}]}
rules:
  - id: r
    when: {"<": [{"var": "stock.available"}, 1]}
    owner: buyer
    actions:
"""


def problems(actions: str) -> list[tuple[str, int | None, str]]:
    return [(p.path, p.line, p.message) for p in validate_ruleset(HEAD + actions)]


@pytest.mark.parametrize("title, reason", [
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "attribute '__class__' not allowed"),
    ("{% for x in range(10**9) %}{{ x }}{% endfor %}", "'{% for %}' loops not allowed"),
    ("{{ range(10**9) | length }}", "calling functions such as range(…) not allowed"),
    ("{{ sku._private }}", "attribute '_private' not allowed"),
    ("{{ 'ab' * 1000000000 }}", "text cannot be multiplied"),
    ("{{ sku.code", "unexpected end of template"),
])
def test_a_dangerous_or_broken_title_is_refused_where_it_is(title: str, reason: str) -> None:
    found = problems(f"      - create_task: {{title: {title!r}, workflow: w}}\n")
    assert found, title
    assert all(path == "rules[0].actions[0].create_task.title" and line == 10
               for path, line, _ in found)
    assert any(reason in message for _, _, message in found), found


def test_names_are_facts_of_the_catalogue_with_did_you_mean() -> None:
    found = problems(
        "      - create_task: {title: '补货 {{ sku.cdoe }} {{ rule.name }} {{ sku.attributes.x }}"
        " {{ params.service_level }} {{ sku.tags[0] }} {{ warehouse[\"code\"] }}', workflow: w}\n")
    assert found == [("rules[0].actions[0].create_task.title", 10,
                      "'sku.cdoe' is not a known fact; did you mean 'sku.code'?")]


def test_a_multi_line_message_says_the_line_of_the_template() -> None:
    found = problems("      - notify:\n"
                     "          message: |\n"
                     "            ok {{ sku.code }}\n"
                     "            {{ stock.availble }}\n")
    assert found == [("rules[0].actions[0].notify.message", 11,
                      ("line 2 of the template: 'stock.availble' is not a known fact; "
                       "did you mean 'stock.available'?"))]


def test_good_templates_pass_and_a_stored_version_with_a_bad_one_still_runs() -> None:
    good = "      - create_task: {title: '{{ rule.name }}: {{ sku.code }} {{ stock.available | round(1) }}', workflow: w}\n"
    assert problems(good) == []
    bad = HEAD + "      - create_task: {title: '{% for x in range(3) %}x{% endfor %}', workflow: w}\n"
    assert validate_ruleset(bad)
    assert load_ruleset(bad, stored=True).rules[0].id == "r"  # rendered under the sandbox
