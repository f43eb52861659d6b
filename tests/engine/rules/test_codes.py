"""Codes suggested from names: pinyin for Chinese, unique, always a valid id."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.rules.codes import code_from_name, unique_code
from engine.rules.schema_fields import ID_PATTERN


def test_chinese_names_become_readable_pinyin() -> None:
    assert code_from_name("饮料") == "yin-liao"
    assert code_from_name("畅销品 A类") == "chang-xiao-pin-a-lei"
    assert code_from_name("双11促销") == "shuang-11-cu-xiao"
    assert code_from_name("Fast Movers") == "fast-movers"
    assert code_from_name("！！") == ""


def test_a_taken_code_gets_a_number_and_an_empty_one_the_prefix() -> None:
    assert unique_code("饮料", {"yin-liao"}, "group") == "yin-liao-2"
    assert unique_code("饮料", {"yin-liao", "yin-liao-2"}, "group") == "yin-liao-3"
    assert unique_code("？", {"group-1"}, "group") == "group-2"


@given(st.text(max_size=80), st.sets(st.text(max_size=10), max_size=5))
def test_every_suggestion_is_a_valid_unused_id(name: str, used: set[str]) -> None:
    code = unique_code(name, used, "rule")
    assert ID_PATTERN.match(code) and code not in used
