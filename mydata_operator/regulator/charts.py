"""Server-rendered SVG bar charts that read without colour and without JavaScript.

Each series has its own fill pattern (solid, diagonal hatching, dots) as well as its own
shade, every bar carries its value as text, and the chart has a title and a description for
screen readers. The page shows the same numbers in a table beside each chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from django.utils.safestring import SafeString, mark_safe

# Presentation attributes, not a style attribute: the Content-Security-Policy allows no
# inline style.
FONT = 'font-family="system-ui,sans-serif" font-size="12"'
INK = "#1a1a1a"
SHADES = ["#1f4e79", "#8a3b12", "#3d5c2e"]


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[int]


def _defs(prefix: str) -> str:
    """Pattern fills: 0 solid, 1 diagonal hatching, 2 dots; each on its own shade."""
    return (
        "<defs>"
        f'<pattern id="{prefix}-p1" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)">'
        f'<rect width="6" height="6" fill="#fff"/><rect width="3" height="6" fill="{SHADES[1]}"/>'
        "</pattern>"
        f'<pattern id="{prefix}-p2" width="6" height="6" patternUnits="userSpaceOnUse">'
        f'<rect width="6" height="6" fill="#fff"/><circle cx="3" cy="3" r="1.8" '
        f'fill="{SHADES[2]}"/></pattern>'
        "</defs>"
    )


def _fill(prefix: str, i: int) -> str:
    return SHADES[0] if i % 3 == 0 else f"url(#{prefix}-p{i % 3})"


def _legend(prefix: str, series: Sequence[Series], x: float, y: float) -> str:
    parts = []
    for i, s in enumerate(series):
        parts.append(
            f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="14" height="14" fill="{_fill(prefix, i)}" '
            f'stroke="{INK}"/>'
            f'<text x="{x + 20:.1f}" y="{y + 1:.1f}" {FONT} fill="{INK}">'
            f"{escape(s.name)}</text>"
        )
        x += 30 + 7.5 * len(s.name)
    return "".join(parts)


def _open(prefix: str, width: float, height: float, title: str, desc: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" class="chart" '
        f'aria-labelledby="{prefix}-t {prefix}-d">'
        f'<title id="{prefix}-t">{escape(title)}</title>'
        f'<desc id="{prefix}-d">{escape(desc)}</desc>' + _defs(prefix)
    )


def column_chart(
    prefix: str, title: str, categories: Sequence[str], series: Sequence[Series]
) -> SafeString:
    """Grouped vertical bars: one group per category (e.g. a month), one bar per series."""
    bar, gap, top, bottom, left = 18, 16, 40, 56, 12
    plot_h = 160
    group_w = len(series) * bar + gap
    width = max(360, left * 2 + len(categories) * group_w)
    height = top + plot_h + bottom
    peak = max([v for s in series for v in s.values] + [1])
    desc = "; ".join(
        f"{c}: " + ", ".join(f"{s.name} {s.values[i]}" for s in series)
        for i, c in enumerate(categories)
    )
    out = [_open(prefix, width, height, title, desc or "no data")]
    base_y = top + plot_h
    out.append(
        f'<line x1="{left}" y1="{base_y}" x2="{width - left}" y2="{base_y}" stroke="{INK}"/>'
    )
    for ci, category in enumerate(categories):
        gx = left + gap / 2 + ci * group_w
        for si, s in enumerate(series):
            value = s.values[ci]
            h = plot_h * value / peak
            x = gx + si * bar
            out.append(
                f'<rect x="{x:.1f}" y="{base_y - h:.1f}" width="{bar - 2}" height="{h:.1f}" '
                f'fill="{_fill(prefix, si)}" stroke="{INK}" stroke-width="0.8"/>'
                f'<text x="{x + (bar - 2) / 2:.1f}" y="{base_y - h - 3:.1f}" '
                f'text-anchor="middle" {FONT} fill="{INK}">{value}</text>'
            )
        out.append(
            f'<text x="{gx + len(series) * bar / 2:.1f}" y="{base_y + 16}" text-anchor="middle" '
            f'{FONT} fill="{INK}">{escape(category)}</text>'
        )
    out.append(_legend(prefix, series, left, height - 14))
    out.append("</svg>")
    return mark_safe("".join(out))  # noqa: S308 - every text above is escaped


def bar_chart(
    prefix: str, title: str, labels: Sequence[str], series: Sequence[Series]
) -> SafeString:
    """Grouped horizontal bars: one group per label (e.g. a provider), one bar per series."""
    bar, gap, top, label_w, right = 16, 12, 12, 230, 140
    plot_w = 380
    group_h = len(series) * bar + gap
    height = top + len(labels) * group_h + 40
    width = label_w + plot_w + right
    peak = max([v for s in series for v in s.values] + [1])
    desc = "; ".join(
        f"{label}: " + ", ".join(f"{s.name} {s.values[i]}" for s in series)
        for i, label in enumerate(labels)
    )
    out = [_open(prefix, width, height, title, desc or "no data")]
    out.append(
        f'<line x1="{label_w}" y1="{top - 4}" x2="{label_w}" y2="{height - 34}" stroke="{INK}"/>'
    )
    for li, label in enumerate(labels):
        gy = top + li * group_h
        short = label if len(label) <= 34 else label[:33] + "…"
        out.append(
            f'<text x="{label_w - 8}" y="{gy + len(series) * bar / 2 + 4:.1f}" '
            f'text-anchor="end" {FONT} fill="{INK}">{escape(short)}</text>'
        )
        for si, s in enumerate(series):
            value = s.values[li]
            w = plot_w * value / peak
            y = gy + si * bar
            out.append(
                f'<rect x="{label_w}" y="{y:.1f}" width="{w:.1f}" height="{bar - 2}" '
                f'fill="{_fill(prefix, si)}" stroke="{INK}" stroke-width="0.8"/>'
                f'<text x="{label_w + w + 4:.1f}" y="{y + bar - 5:.1f}" {FONT} '
                f'fill="{INK}">{escape(s.name)} {value}</text>'
            )
    out.append(_legend(prefix, series, label_w, height - 12))
    out.append("</svg>")
    return mark_safe("".join(out))  # noqa: S308 - every text above is escaped
