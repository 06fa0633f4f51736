"""Small SVG charts drawn on the server: no JavaScript, no plotting library, readable in any browser.

Each function returns a self-contained <svg> string with a <title> per mark (hover shows the value)
and an accessible label; pages embed it inline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

from markupsafe import Markup

WIDTH = 720
LABEL_WIDTH = 150
TIMELINE_LABEL_WIDTH = 300  # at most: step labels (rule and wildcards) are long
CHAR_WIDTH = 7  # of a 12 px label, roughly
ROW = 22

STATUS_COLOURS = {
    "SUCCEEDED": "#2e7d32",
    "PASS": "#2e7d32",
    "RUNNING": "#1565c0",
    "SUBMITTED": "#78909c",
    "QUEUED": "#78909c",
    "FAILED": "#c62828",
    "FAIL": "#c62828",
    "ABORTED": "#6d4c41",
}
NEUTRAL = "#607d8b"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    status: str = ""  # colours the bar (PASS/FAIL, job status)


@dataclass(frozen=True)
class Span:
    label: str
    start: datetime
    end: datetime | None  # None: still running, drawn up to `now`
    status: str


def _line(x1: float, y1: float, x2: float, y2: float, css_class: str) -> str:
    return f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" class="{css_class}"/>'


def _fmt(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def _svg(height: int, title: str, body: list[str]) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'role="img" aria-label={quoteattr(title)} class="chart">'
        f"<title>{escape(title)}</title>"
    )
    return Markup(head + "".join(body) + "</svg>")


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= value)


def bar_chart(title: str, bars: Sequence[Bar], unit: str = "", thresholds: Sequence[float] = ()) -> Markup:
    """Horizontal bars, one per label (e.g. per-sample depth); dashed lines mark the QC limits."""
    top, plot_width = 28, WIDTH - LABEL_WIDTH - 70
    height = top + ROW * max(len(bars), 1) + 24
    known = [b.value for b in bars if b.value is not None]
    scale_max = _nice_max(max([*known, *thresholds, 0.0]))
    x = lambda v: LABEL_WIDTH + plot_width * v / scale_max  # noqa: E731
    body = [f'<text x="0" y="16" class="chart-title">{escape(title)}</text>']
    for i, bar in enumerate(bars):
        y = top + i * ROW
        body.append(f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end">{escape(bar.label)}</text>')
        if bar.value is None:
            body.append(f'<text x="{LABEL_WIDTH + 4}" y="{y + 15}" class="muted">no value</text>')
            continue
        colour = STATUS_COLOURS.get(bar.status, NEUTRAL)
        width = max(x(bar.value) - LABEL_WIDTH, 1)
        label = f"{bar.label}: {_fmt(bar.value)}{unit}" + (f" ({bar.status})" if bar.status else "")
        body.append(
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{width:.1f}" height="{ROW - 6}" fill="{colour}">'
            f"<title>{escape(label)}</title></rect>"
            f'<text x="{LABEL_WIDTH + width + 4:.1f}" y="{y + 15}">{_fmt(bar.value)}{escape(unit)}</text>'
        )
    axis_y = top + ROW * max(len(bars), 1)
    body.append(_line(LABEL_WIDTH, axis_y, LABEL_WIDTH + plot_width, axis_y, "axis"))
    body.append(f'<text x="{LABEL_WIDTH}" y="{axis_y + 16}" class="muted">0</text>')
    body.append(
        f'<text x="{LABEL_WIDTH + plot_width}" y="{axis_y + 16}" text-anchor="end" class="muted">'
        f"{_fmt(scale_max)}{escape(unit)}</text>"
    )
    for limit in thresholds:
        tx = x(limit)
        body.append(
            f'<line x1="{tx:.1f}" y1="{top - 4}" x2="{tx:.1f}" y2="{axis_y}" class="threshold">'
            f"<title>QC limit {_fmt(limit)}{escape(unit)}</title></line>"
        )
    return _svg(height + 6, title, body)


def series_chart(
    title: str, points: Sequence[Bar], unit: str = "", thresholds: Sequence[float] = ()
) -> Markup:
    """One value per run, in run order (e.g. a sample's Ts/Tv across runs): dots joined by a line."""
    left, top, plot_height = 56, 28, 120
    plot_width = WIDTH - left - 60  # room for the last run's label
    known = [p.value for p in points if p.value is not None]
    low = min([*known, *thresholds, 0.0])
    high = _nice_max(max([*known, *thresholds, 0.0]))
    step = plot_width / max(len(points) - 1, 1)
    x = lambda i: left + (i * step if len(points) > 1 else plot_width / 2)  # noqa: E731
    y = lambda v: top + plot_height * (1 - (v - low) / ((high - low) or 1))  # noqa: E731
    body = [
        f'<text x="0" y="16" class="chart-title">{escape(title)}</text>',
        _line(left, top + plot_height, left + plot_width, top + plot_height, "axis"),
        _line(left, top, left, top + plot_height, "axis"),
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" class="muted">{_fmt(high)}</text>',
        f'<text x="{left - 6}" y="{top + plot_height}" text-anchor="end" class="muted">{_fmt(low)}</text>',
    ]
    for limit in thresholds:
        body.append(
            f'<line x1="{left}" y1="{y(limit):.1f}" x2="{left + plot_width}" y2="{y(limit):.1f}" '
            f'class="threshold"><title>QC limit {_fmt(limit)}{escape(unit)}</title></line>'
        )
    path = [(x(i), y(p.value)) for i, p in enumerate(points) if p.value is not None]
    if len(path) > 1:
        coords = " ".join(f"{px:.1f},{py:.1f}" for px, py in path)
        body.append(f'<polyline points="{coords}" class="series"/>')
    for i, point in enumerate(points):
        body.append(
            f'<text x="{x(i):.1f}" y="{top + plot_height + 16}" text-anchor="middle" class="muted">'
            f"{escape(point.label)}</text>"
        )
        if point.value is None:
            continue
        colour = STATUS_COLOURS.get(point.status, NEUTRAL)
        label = f"{point.label}: {_fmt(point.value)}{unit}" + (f" ({point.status})" if point.status else "")
        body.append(
            f'<circle cx="{x(i):.1f}" cy="{y(point.value):.1f}" r="5" fill="{colour}">'
            f"<title>{escape(label)}</title></circle>"
        )
    return _svg(top + plot_height + 26, title, body)


def _fit(label: str, width: int) -> str:
    """The label, cut with an ellipsis where it would not fit in `width` pixels."""
    room = (width - 6) // CHAR_WIDTH
    return label if len(label) <= room else label[: room - 1] + "…"


def timeline(title: str, spans: Sequence[Span], now: datetime) -> Markup:
    """Jobs as a Gantt chart: one row per job from its start to its end (or now, if still running).
    The label column is as wide as the longest label needs, up to TIMELINE_LABEL_WIDTH."""
    top = 28
    label_width = min(
        max([LABEL_WIDTH, *(CHAR_WIDTH * len(s.label) + 6 for s in spans)]), TIMELINE_LABEL_WIDTH
    )
    plot_width = WIDTH - label_width - 20
    height = top + ROW * max(len(spans), 1) + 24
    body = [f'<text x="0" y="16" class="chart-title">{escape(title)}</text>']
    if not spans:
        body.append(f'<text x="{label_width}" y="{top + 15}" class="muted">no jobs</text>')
        return _svg(height, title, body)
    start = min(s.start for s in spans)
    end = max((s.end or now) for s in spans)
    total = max((end - start).total_seconds(), 1.0)
    x = lambda t: label_width + plot_width * (t - start).total_seconds() / total  # noqa: E731
    for i, span in enumerate(spans):
        y = top + i * ROW
        finish = span.end or now
        seconds = (finish - span.start).total_seconds()
        label = f"{span.label}: {span.status}, {seconds:,.0f} s" + ("" if span.end else " so far")
        shown = escape(_fit(span.label, label_width))
        body.append(
            f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end">{shown}'
            f"<title>{escape(span.label)}</title></text>"
            f'<rect x="{x(span.start):.1f}" y="{y + 3}" width="{max(x(finish) - x(span.start), 2):.1f}" '
            f'height="{ROW - 6}" fill="{STATUS_COLOURS.get(span.status, NEUTRAL)}">'
            f"<title>{escape(label)}</title></rect>"
        )
    axis_y = top + ROW * len(spans)
    body.append(_line(label_width, axis_y, label_width + plot_width, axis_y, "axis"))
    body.append(
        f'<text x="{label_width}" y="{axis_y + 16}" class="muted">{start:%Y-%m-%d %H:%M}</text>'
        f'<text x="{label_width + plot_width}" y="{axis_y + 16}" text-anchor="end" class="muted">'
        f"+{_duration(total)}</text>"
    )
    return _svg(height + 6, title, body)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"
