"""Sandboxed titles and messages: the spec's example renders; escapes and blow-ups are refused."""

from __future__ import annotations

import time

import pytest

from engine.templates import MAX_OUTPUT_BYTES, TemplateInvalid, check_template, render

FACTS = {
    "sku": {"code": "SKU-1", "name": "保温杯 500ml"},
    "warehouse": {"code": "WH-SH"},
    "stock": {"available": 3.0, "on_hand": 5},
    "metrics": {"reorder_point": 69.80713, "avg_daily_demand": 10.0},
}


def test_the_spec_example_title_renders() -> None:
    title = "补货 {{ sku.code }} @ {{ warehouse.code }}: 可用 {{ stock.available }}"
    assert check_template(title) == []
    assert render(title, FACTS) == "补货 SKU-1 @ WH-SH: 可用 3"


def test_chinese_text_round_trips() -> None:
    text = "【预警】{{ sku.name }} 库存不足，请尽快处理。"
    assert render(text, FACTS) == "【预警】保温杯 500ml 库存不足，请尽快处理。"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ metrics.reorder_point | round(1) }}", "69.8"),
        ("{{ metrics.reorder_point | int }}", "69"),
        ("{{ sku.code | lower }}", "sku-1"),
        ("{{ stock.available + stock.on_hand }}", "8"),
        ("{{ metrics.avg_daily_demand * 7 }}", "70"),
        ("{{ sku.code ~ '/' ~ warehouse.code }}", "SKU-1/WH-SH"),
        ("{% if stock.available < 5 %}低{% else %}够{% endif %}", "低"),
        ("{{ 'yes' if stock.available is number else 'no' }}", "yes"),
        ("{{ sku['code'] }}", "SKU-1"),
    ],
)
def test_allowed_expressions(text: str, expected: str) -> None:
    assert check_template(text) == []
    assert render(text, FACTS) == expected


def test_unknown_and_null_values_render_empty_or_their_default() -> None:
    assert render("[{{ nothing }}][{{ supplier.code }}]", FACTS) == "[][]"
    assert render("{{ metrics.days_of_cover | round(1) | default('无需求') }}", FACTS) == "无需求"
    assert render("[{{ x }}]", {"x": None}) == "[]"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{{ ''.__class__.__mro__ }}", "attribute '__class__' not allowed"),
        (
            "{{ ''.__class__.__mro__[1].__subclasses__() }}",
            "attribute '__subclasses__' not allowed",
        ),
        ("{{ sku['__class__'] }}", "attribute '__class__' not allowed"),
        ("{{ s|attr('format') }}", "filter 'attr' not allowed"),
        ("{{ '{0}'|format(sku) }}", "filter 'format' not allowed"),
        ("{% for i in range(10**9) %}x{% endfor %}", "'{% for %}' loops not allowed"),
        ("{{ range(10) }}", "calling functions"),
        ("{{ sku.code.upper() }}", "calling functions"),
        ("{{ 'x' * 100000000 }}", "text cannot be multiplied"),
        ("{{ 9 ** 9 ** 9 }}", "'**' not allowed"),
        ("{{ '%999999999d' % 1 }}", "'%' formatting not allowed"),
        ("{% set x = 1 %}", "'{% set %}' not allowed"),
        ("{% include 'x' %}", "'{% include %}' not allowed"),
        ("{{ self }}", "name 'self' not allowed"),
        ("{{ sku[code] }}", "only fixed subscripts"),
        ("{{ sku.code", "line 1:"),
    ],
)
def test_refused_templates(text: str, problem: str) -> None:
    problems = check_template(text)
    assert any(problem in p for p in problems), problems
    assert all(p.startswith("line ") for p in problems)
    with pytest.raises(TemplateInvalid):
        render(text, FACTS)


def test_problems_carry_the_line() -> None:
    assert check_template("ok\n{{ x.__class__ }}") == ["line 2: attribute '__class__' not allowed"]


def test_text_multiplied_at_render_time_is_refused_by_the_sandbox() -> None:
    with pytest.raises(TemplateInvalid):
        render("{{ sku.code * 100000000 }}", FACTS)


def test_output_is_capped() -> None:
    out = render("{{ big }}", {"big": "库" * 20_000})
    assert out.endswith("…")
    assert len(out.encode()) <= MAX_OUTPUT_BYTES
    assert out[:-1] == "库" * len(out[:-1])  # cut on a character boundary


class _Slow:
    """A value whose text takes a while: asleep (the machine busy elsewhere) or computing."""

    def __init__(self, busy: bool) -> None:
        self.busy = busy

    def __str__(self) -> str:
        # Asleep: wall time passes, no CPU is used. Computing: spin until this thread has used
        # the CPU time itself (not a wall-clock span), so a machine busy with other work cannot
        # leave the spinner under the cap and the test passes or fails whatever the load.
        if not self.busy:
            time.sleep(0.15)
            return "slow"
        end = time.thread_time() + 0.15
        while time.thread_time() < end:
            pass
        return "slow"


def test_the_time_cap_counts_rendering_not_waiting() -> None:
    assert render("{{ a }} and {{ b }}", {"a": _Slow(busy=False), "b": "rest"}) == "slow and rest"
    cut = render("{{ a }} and {{ b }}", {"a": _Slow(busy=True), "b": "rest"})
    assert cut.startswith("slow") and cut.endswith("…") and "rest" not in cut


def test_long_source_is_refused() -> None:
    assert check_template("x" * 20_000)


def test_rendering_errors_become_template_invalid() -> None:
    with pytest.raises(TemplateInvalid):
        render("{{ stock.on_hand / 0 }}", FACTS)
