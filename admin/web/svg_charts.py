"""Charts drawn on the server as SVG (issue #18): no script, nothing from a CDN, printable.

Two shapes cover the reports and the dashboard: bars per day (one or two series side by side)
and stacked horizontal bars per category (outcomes by rule, role, group). Colours are
presentation attributes, not inline styles, so the Content-Security-Policy stays strict. Every
bar has a ``<title>`` (its tooltip) and the chart a ``role="img"`` with a label.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

PALETTE = ("#1d4ed8", "#dc2626", "#f59e0b", "#15803d", "#7c3aed", "#0891b2", "#6b7280",
           "#db2777")


def daily_bars(days: Sequence[Mapping[str, Any]], series: Sequence[tuple[str, str]],
               label: str, height: int = 180, href: str | None = None) -> Markup:
    """Bars per day: ``series`` is ``[(key, legend text)]``; ``days`` dicts have ``day`` and
    the keys. ``href`` (with ``{day}``) makes each day's bars a link."""
    width, left, bottom, top = 640, 34, 22, 10
    inner_w, inner_h = width - left - 6, height - bottom - top
    peak = max([1, *(float(d.get(k) or 0) for d in days for k, _ in series)])
    slot = inner_w / max(len(days), 1)
    bar = max(slot * 0.8 / max(len(series), 1), 1)
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height + 18}" role="img" '
             f'aria-label="{escape(label)}" preserveAspectRatio="xMidYMid meet">']
    for i in range(5):  # grid and scale
        y = top + inner_h - inner_h * i / 4
        parts.append(f'<line x1="{left}" x2="{width - 6}" y1="{y:.1f}" y2="{y:.1f}" '
                     'stroke="#e5e7eb" stroke-width="1"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 3:.1f}" text-anchor="end" font-size="9" '
                     f'fill="#6b7280">{_short(peak * i / 4)}</text>')
    step = max(1, len(days) // 8)
    for n, day in enumerate(days):
        x0 = left + n * slot + slot * 0.1
        link = href.format(day=day["day"]) if href else None
        if link:
            parts.append(f'<a href="{escape(link)}">')
        for s, (key, legend) in enumerate(series):
            value = float(day.get(key) or 0)
            h = inner_h * value / peak
            parts.append(
                f'<rect x="{x0 + s * bar:.1f}" y="{top + inner_h - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{PALETTE[s % len(PALETTE)]}" data-day="{day["day"]}" '
                f'data-{escape(key)}="{value:g}"><title>{escape(day["day"])} · {escape(legend)}: '
                f'{value:g}</title></rect>')
        if link:
            parts.append("</a>")
        if n % step == 0:
            parts.append(f'<text x="{x0 + slot * 0.4:.1f}" y="{height - 6}" text-anchor="middle" '
                         f'font-size="9" fill="#6b7280">{escape(str(day["day"])[5:])}</text>')
    parts.append(_legend([legend for _, legend in series], height + 12, left))
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked_bars(rows: Sequence[tuple[str, Mapping[str, int]]], names: Mapping[str, str],
                 label: str, links: Mapping[str, str] | None = None) -> Markup:
    """One horizontal bar per row label, stacked by key (keys' legend text in ``names``)."""
    keys = sorted({k for _, counts in rows for k in counts})
    width, left, row_h = 640, 170, 22
    height = row_h * len(rows) + 30
    peak = max([1, *(sum(c.values()) for _, c in rows)])
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(label)}">']
    for n, (title, counts) in enumerate(rows):
        y = n * row_h + 4
        link = (links or {}).get(title)
        text = escape(title if len(title) <= 24 else title[:23] + "…")
        if link:
            parts.append(f'<a href="{escape(link)}">')
        parts.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end" font-size="11" '
                     f'fill="#1f2937">{text}</text>')
        x = float(left)
        for i, key in enumerate(keys):
            value = counts.get(key, 0)
            w = (width - left - 40) * value / peak
            if value:
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row_h - 6}" '
                             f'fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(title)} · '
                             f'{escape(names.get(key, key))}: {value}</title></rect>')
            x += w
        parts.append(f'<text x="{x + 4:.1f}" y="{y + 13}" font-size="10" fill="#6b7280">'
                     f'{sum(counts.values())}</text>')
        if link:
            parts.append("</a>")
    parts.append(_legend([names.get(k, k) for k in keys], height - 8, 8))
    parts.append("</svg>")
    return Markup("".join(parts))


def _legend(texts: Sequence[str], y: float, x0: float) -> str:
    out, x = [], x0
    for i, text in enumerate(texts):
        out.append(f'<rect x="{x}" y="{y - 8}" width="9" height="9" '
                   f'fill="{PALETTE[i % len(PALETTE)]}"/><text x="{x + 12}" y="{y}" '
                   f'font-size="10" fill="#374151">{escape(text)}</text>')
        x += 20 + 6.5 * len(text) + (6 * sum(1 for c in text if ord(c) > 0x2e80))
    return "".join(out)


def _short(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:.1f}k"
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"
