"""The source stage: YAML/JSON text to data and lines, refusing unsafe or broken input."""

from __future__ import annotations

import json
import time
from textwrap import dedent

import pytest

from engine.rules.problems import DocumentTooLarge, Problem, RulesetInvalid
from engine.rules.source import MAX_BYTES, parse_source, read_source, sniff
from engine.rules.source_yaml import parse_yaml


def only(problems: list[Problem], code: str) -> Problem:
    found = [p for p in problems if p.code == code]
    assert len(found) == 1, problems
    return found[0]


RULE = dedent(
    """\
    ruleset: demo
    rules:
      - id: low
        on: [sale]
        when: {"<": [{"var": "stock.available"}, 5]}
        actions:
          - notify: {to: owner}
    """
)


def test_reads_yaml_with_a_line_for_every_key_and_item() -> None:
    data, lines = read_source(RULE)
    assert data["rules"][0]["when"] == {"<": [{"var": "stock.available"}, 5]}
    assert lines[("ruleset",)] == 1
    assert lines[("rules", 0)] == 3
    assert lines[("rules", 0, "on", 0)] == 4
    assert lines[("rules", 0, "when", "<", 1)] == 5
    assert lines[("rules", 0, "actions", 0, "notify", "to")] == 7


def test_the_key_on_stays_text_rather_than_becoming_true() -> None:
    data, lines = read_source("on: [sale]\nyes: 1\nno: 2\noff: 3\ny: 4\nn: 5\n")
    assert list(data) == ["on", "yes", "no", "off", "y", "n"]
    assert lines[("on",)] == 1


def test_a_yes_no_value_stays_boolean_and_remembers_how_it_was_written() -> None:
    parsed = parse_source("warehouse: NO\nenabled: yes\n")
    assert parsed.data == {"warehouse": False, "enabled": True}
    assert parsed.raw_booleans[("warehouse",)] == "NO"


def test_python_tag_is_refused_and_nothing_runs() -> None:
    text = 'rules:\n  - id: r\n    when: !!python/object/apply:os.system ["id"]\n'
    problem = only(parse_source(text).problems, "yaml_forbidden_tag")
    assert problem.path == "rules[0].when"
    assert problem.line == 3
    assert "!!python/object/apply:os.system" in problem.message
    assert "column 11" in problem.message


@pytest.mark.parametrize("tag", ["!!str", "!foo", "!!binary", "!!map"])
def test_every_explicit_tag_is_refused(tag: str) -> None:
    problem = only(parse_source(f"ruleset: {tag} x\n").problems, "yaml_forbidden_tag")
    assert (problem.path, problem.line) == ("ruleset", 1)


def test_anchor_and_alias_are_refused() -> None:
    text = "roles:\n  - &buyer {id: buyer}\n  - *buyer\n"
    problems = parse_source(text).problems
    assert [(p.code, p.path, p.line) for p in problems] == [
        ("yaml_alias_forbidden", "roles[0]", 2),
        ("yaml_alias_forbidden", "roles[1]", 3),
    ]
    assert "not supported" in problems[0].message


def test_an_alias_bomb_is_refused_fast_without_expanding_it() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in "bcdefghi":
        prev = chr(ord(level) - 1)
        lines.append(f"{level}: &{level} [{','.join([f'*{prev}'] * 9)}]")
    text = "\n".join(lines) + "\n"
    started = time.perf_counter()
    problems = parse_source(text).problems
    assert time.perf_counter() - started < 0.2
    assert {p.code for p in problems} == {"yaml_alias_forbidden"}
    assert problems[0].line == 1


def test_duplicate_key_names_both_lines() -> None:
    text = RULE + '    when: {">": [1, 2]}\n'
    problem = only(parse_source(text).problems, "duplicate_key")
    assert problem.path == "rules[0].when"
    assert problem.line == 8
    assert problem.message == "key 'when' on line 8 is already defined at line 5"


def test_duplicate_key_still_lets_the_document_be_checked() -> None:
    parsed = parse_source("ruleset: a\nruleset: b\n")
    assert parsed.readable and parsed.data == {"ruleset": "b"}


def test_several_documents_are_refused() -> None:
    text = "ruleset: a\n---\nruleset: b\n---\nruleset: c\n"
    problem = only(parse_source(text).problems, "several_documents")
    assert problem.path == ""
    assert problem.line == 2
    assert problem.message.startswith("exactly one document expected; found 3")


def test_tab_indentation_is_explained() -> None:
    text = "rules:\n  - id: r\n\twhen: true\n"
    problem = only(parse_source(text).problems, "yaml_syntax")
    assert (problem.path, problem.line) == ("", 3)
    assert "a tab is used for indentation (line 3, column 1)" in problem.message
    assert "→when: true" in problem.message


def test_syntax_error_gives_line_column_and_the_offending_line() -> None:
    text = "ruleset: demo\nrules: [a, b\nroles: []\n"
    problem = only(parse_source(text).problems, "yaml_syntax")
    assert problem.line == 3
    assert "(line 3, column 6)" in problem.message
    assert "'roles: []'" in problem.message


def test_oversize_is_refused_before_parsing() -> None:
    text = "# " + "x" * (300 * 1024) + "\n"
    with pytest.raises(DocumentTooLarge) as caught:
        parse_source(text)
    problem = caught.value.problems[0]
    assert (problem.code, problem.path) == ("too_large", "")
    assert problem.message == "the rule document is 300.0 KiB; the limit is 256 KiB"


def test_oversize_in_mebibytes_and_as_bytes() -> None:
    with pytest.raises(DocumentTooLarge, match="problem"):
        parse_source(b"a" * (5 * 1024 * 1024))
    with pytest.raises(DocumentTooLarge) as caught:
        parse_source(b"a" * (5 * 1024 * 1024))
    assert "is 5.0 MiB" in caught.value.problems[0].message


def test_exactly_the_limit_is_accepted() -> None:
    text = "ruleset: x\n#" + "x" * (MAX_BYTES - 13) + "\n"
    assert len(text.encode()) == MAX_BYTES
    assert parse_source(text).problems == []


def test_yaml_nested_too_deep_is_refused_without_recursion_error() -> None:
    text = "when: " + "[" * 10_000 + "]" * 10_000 + "\n"
    problem = only(parse_source(text).problems, "too_deep")
    assert problem.line == 1
    assert problem.path.startswith("when[0][0]")
    assert "more than 64 levels" in problem.message


def test_json_nested_too_deep_is_refused_before_json_loads() -> None:
    text = '{"when":\n' + "[" * 10_000 + "]" * 10_000 + "}"
    problem = only(parse_source(text, "json").problems, "too_deep")
    assert (problem.path, problem.line) == ("", 2)


def test_sixty_four_levels_are_fine() -> None:
    text = "[" * 64 + "]" * 64
    assert parse_source(text, "json").problems == []
    assert parse_source(text, "yaml").problems == []


def test_json_nan_is_refused() -> None:
    text = '{\n  "ruleset": "x",\n  "settings": {"service_level": NaN}\n}'
    problem = only(parse_source(text, "json").problems, "not_finite")
    assert (problem.path, problem.line) == ("settings.service_level", 3)
    assert "'NaN' is not a number that can be used here" in problem.message


def test_json_infinity_and_yaml_inf_are_refused() -> None:
    assert only(parse_source('{"a": -Infinity}').problems, "not_finite").path == "a"
    assert only(parse_source("a: .inf\n").problems, "not_finite").path == "a"


def test_json_duplicate_keys_are_refused_with_lines() -> None:
    text = '{\n  "rules": [{"id": "a",\n             "id": "b"}]\n}'
    problem = only(parse_source(text).problems, "duplicate_key")
    assert (problem.path, problem.line) == ("rules[0].id", 3)
    assert "already defined at line 2" in problem.message


def test_json_syntax_error_gives_line_and_column() -> None:
    problem = only(parse_source('{\n  "a": 1,\n}', "json").problems, "json_syntax")
    assert problem.line == 3
    assert "(line 3, column 1)" in problem.message


def test_json_with_tabs_still_gets_lines() -> None:
    data, lines = read_source('{\n\t"ruleset": "x",\n\t"rules": [\n\t\t{"id": "a"}\n\t]\n}')
    assert data == {"ruleset": "x", "rules": [{"id": "a"}]}
    assert lines[("rules", 0, "id")] == 4


def test_json_and_yaml_give_the_same_data() -> None:
    data, _ = read_source(RULE)
    assert read_source(json.dumps(data, indent=2))[0] == data


def test_a_utf8_bom_is_accepted() -> None:
    data, _ = read_source("\ufeffruleset: x\n".encode())
    assert data == {"ruleset": "x"}


def test_latin1_bytes_are_refused_with_offset_and_line() -> None:
    problem = only(parse_source("ruleset: x\nname: café\n".encode("latin-1")).problems, "encoding")
    assert (problem.path, problem.line) == ("", 2)
    assert problem.message == "the file must be UTF-8; invalid byte 0xE9 at offset 20 (line 2)"


def test_utf16_is_refused() -> None:
    problem = only(parse_source("ruleset: x\n".encode("utf-16")).problems, "encoding")
    assert "UTF-16" in problem.message
    problem = only(parse_source("ruleset: x\n".encode("utf-16-le")).problems, "encoding")
    assert "NUL character at offset 1 (line 1)" in problem.message


def test_an_empty_document_is_a_problem() -> None:
    assert only(parse_source("").problems, "empty").line == 1
    assert only(parse_source("# nothing\n").problems, "empty").path == ""


def test_read_source_raises_with_every_problem_located() -> None:
    with pytest.raises(RulesetInvalid) as caught:
        read_source("a: &x 1\nb: *x\nc: !!str 1\n")
    assert [p.line for p in caught.value.problems] == [1, 2, 3]


def test_sniffs_json_by_its_first_character() -> None:
    assert sniff('  \n{"a": 1}') == "json"
    assert sniff("[1]") == "json"
    assert sniff("a: 1") == "yaml"


def test_an_unknown_format_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        parse_source("a: 1", "toml")


def test_a_complex_key_is_refused() -> None:
    problem = only(parse_source("? [a, b]\n: 1\n").problems, "yaml_complex_key")
    assert (problem.path, problem.line) == ("", 1)


@pytest.mark.parametrize(
    "text",
    [
        RULE,
        "on: [sale]\nwarehouse: NO\n",
        'rules:\n  - id: r\n    when: !!python/object/apply:os.system ["id"]\n',
        "roles:\n  - &buyer {id: buyer}\n  - *buyer\n",
        RULE + '    when: {">": [1, 2]}\n',
        "ruleset: a\n---\nruleset: b\n",
        "rules:\n  - id: r\n\twhen: true\n",
        "when: " + "[" * 100 + "]" * 100 + "\n",
        "a: .nan\n",
    ],
)
def test_the_pure_python_fallback_agrees_with_libyaml(text: str) -> None:
    fast, slow = parse_yaml(text), parse_yaml(text, libyaml=False)
    assert (fast.data, fast.line_map, fast.raw_booleans) == (
        slow.data,
        slow.line_map,
        slow.raw_booleans,
    )
    assert [(p.code, p.path, p.line) for p in fast.problems] == [
        (p.code, p.path, p.line) for p in slow.problems
    ]
