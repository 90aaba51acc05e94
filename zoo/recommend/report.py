"""``zoo recommend PATH --html FILE``: the recommendation as one self-contained page.

The answer first (backbone, strategy, quadrant), then the size–similarity matrix with the
suite's own tasks and the team's folder placed on it, each backbone's scores, the strategy
advice with the measured verdicts and their intervals, and the reasons in words. Like the
leaderboard page (:mod:`zoo.leaderboard.html`) it opens from a file, offline: the matrix is an
inline SVG, the page's Content-Security-Policy forbids loading anything, and every name from
the folder or the results goes through :func:`html.escape`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from zoo.leaderboard.html import CSP, STYLE, escape
from zoo.matrix import QUADRANTS
from zoo.plugin.suite import SuiteSpec
from zoo.recommend.advice import Recommendation

WIDTH, HEIGHT, MARGIN = 640, 420, 56  # the matrix's SVG, in pixels
PAGE_STYLE = STYLE + """
.answer { font-size: 1.25em; background: #f2f7ff; border: 1px solid #c9dcf5; padding: .6em 1em; display: inline-block; }
svg text { font: 12px system-ui, sans-serif; fill: #333; }
svg .quadrant { font-size: 20px; fill: #c8c8c8; }
svg .task { fill: #5a7bb5; } svg .folder { fill: #d9480f; }
"""


def _table(caption: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f'<div class="scroll"><table><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def matrix_points(rec: Recommendation, suite: SuiteSpec) -> list[tuple[str, float, float, bool]]:
    """(label, training images per class, calibrated similarity position, is the folder) for
    the suite's tasks, placed through the deciding backbone's calibration, and the folder."""
    reading = rec.placement.decided_by
    per_class = {task.name: task.data.train_per_class for task in suite.tasks}
    points = []
    for point in reading.calibration.points:
        count = per_class.get(point.task)
        if count:
            points.append((point.task, float(count), reading.calibration.position(point.value), False))
    points.append((rec.data, float(rec.placement.size.median), reading.position, True))
    return points


def matrix_svg(rec: Recommendation, suite: SuiteSpec) -> str:
    """The size–similarity matrix: images per class (log scale) across, with the small/large
    threshold; the calibrated similarity position up, different above 0 and similar below."""
    points = matrix_points(rec, suite)
    threshold = rec.placement.size.threshold
    counts = [c for _, c, _, _ in points] + [threshold]
    low, high = math.log10(min(counts)) - 0.3, math.log10(max(counts)) + 0.3
    reach = max([abs(p) for _, _, p, _ in points] + [1.0]) * 1.15

    def x(count: float) -> float:
        return MARGIN + (math.log10(count) - low) / (high - low) * (WIDTH - 2 * MARGIN)

    def y(position: float) -> float:
        return HEIGHT / 2 - position / reach * (HEIGHT / 2 - MARGIN)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img" '
             f'aria-label="size–similarity matrix" id="matrix">']  # fmt: skip
    parts.append(f'<rect x="{MARGIN}" y="{MARGIN}" width="{WIDTH - 2 * MARGIN}" height="{HEIGHT - 2 * MARGIN}" fill="none" stroke="#999"/>')
    parts.append(f'<line x1="{x(threshold):.1f}" y1="{MARGIN}" x2="{x(threshold):.1f}" y2="{HEIGHT - MARGIN}" stroke="#999" stroke-dasharray="4 3"/>')
    parts.append(f'<line x1="{MARGIN}" y1="{y(0):.1f}" x2="{WIDTH - MARGIN}" y2="{y(0):.1f}" stroke="#999" stroke-dasharray="4 3"/>')
    for (size, similarity), name in QUADRANTS.items():  # large to the right of the threshold, different above 0
        left, right = (x(threshold), WIDTH - MARGIN) if size == "large" else (MARGIN, x(threshold))
        top, bottom = (MARGIN, y(0)) if similarity == "different" else (y(0), HEIGHT - MARGIN)
        parts.append(f'<text class="quadrant" x="{(left + right) / 2:.1f}" y="{(top + bottom) / 2:.1f}" text-anchor="middle">{name}</text>')
    for label, count, position, folder in points:
        kind = "folder" if folder else "task"
        parts.append(f'<circle class="{kind}" cx="{x(count):.1f}" cy="{y(position):.1f}" r="{7 if folder else 5}" '
                     f'data-label="{escape(label)}"><title>{escape(label)}: {count:g} per class, position {position:+.2f}</title></circle>')  # fmt: skip
        shown = Path(label).name if folder else label  # the folder by its own name; its path is in the title
        parts.append(f'<text x="{x(count) + 9:.1f}" y="{y(position) + 4:.1f}">{escape(shown)}</text>')
    parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT - 16}" text-anchor="middle">training images per class (log scale); '
                 f'small below {threshold:,}</text>')  # fmt: skip
    parts.append(f'<text x="16" y="{HEIGHT / 2}" text-anchor="middle" transform="rotate(-90 16 {HEIGHT / 2})">'
                 "similar ↓ · position · ↑ different</text>")  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)


def render_report(rec: Recommendation, suite: SuiteSpec) -> str:
    """The whole page."""
    place = rec.placement
    answer = (f"Fine-tune <b>{escape(rec.architecture)}</b> (weights {escape(rec.variant)}) with <b>{escape(rec.strategy)}</b>: "
              f"{escape(place.quadrant)}, {escape(place.size.verdict)} and {escape(place.similarity_verdict)}")  # fmt: skip
    backbones = [
        (r.variant, f"{rec.scores.get(r.variant, float('nan')):.4f}", f"{r.value:.4g}", f"{r.position:+.2f}", r.verdict,
         "deciding (highest LogME)" if r.variant == place.decided_by.variant else "")
        for r in place.similarity
    ]  # fmt: skip
    sections = [
        f"<h1>zoo recommend: {escape(rec.data)}</h1>",
        f'<p class="answer">{answer}</p>',
        f"<p class='note'>{rec.images:,} training images in {len(rec.classes)} classes; suite {escape(suite.name)}: "
        f"{escape(suite.source_description)} as the source.</p>",
        "<h2>The size–similarity matrix</h2>",
        matrix_svg(rec, suite),
        "<p class='note'>The suite's tasks are placed through the deciding backbone's calibration; the dashed lines are "
        "the size threshold and the similarity threshold.</p>",
        "<h2>Backbones</h2>",
        _table("LogME of the folder's features and labels, and the similarity to the source through each backbone",
               ("weights", "LogME", "similarity statistic", "position", "verdict", ""), backbones),  # fmt: skip
        "<h2>Strategy</h2>",
        f"<p>The rule of thumb for {escape(place.quadrant)}: <b>{escape(rec.rule_of_thumb)}</b>"
        + (f" (also registered there: {escape(', '.join(rec.alternatives))})" if rec.alternatives else "") + ".</p>",
    ]
    if rec.measured is not None:
        rows = [
            (e.verdict.task, e.verdict.scope, e.verdict.measured, e.verdict.recommended or "", _points(e.verdict.margin_points),
             _points(e.verdict.ci_low_points), _points(e.verdict.ci_high_points), {True: "yes", False: "no"}.get(e.verdict.decisive, "not called"),
             e.verdict.verdict)
            for e in rec.measured.verdicts
        ]  # fmt: skip
        sections.append(_table(f"Measured in {rec.measured.path}",
                               ("task", "scope", "won", "rule", "margin", "95% CI low", "95% CI high", "decisive", "verdict"), rows))  # fmt: skip
    else:
        sections.append(f"<p class='note'>No measured results for {escape(place.quadrant)} in {escape(rec.results)}.</p>")
    sections.append("<h2>Why</h2><ul>" + "".join(f"<li>{escape(reason)}</li>" for reason in rec.reasons) + "</ul>")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        f"<title>zoo recommend: {escape(rec.data)}</title>\n<style>{PAGE_STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(sections)
        + "\n</body>\n</html>\n"
    )


def _points(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"
