"""The quality-vs-cost plot of an evaluation: the router's frontier over thresholds, the random
router's, and the fixed baselines as points. ``.html`` and ``.svg`` are written with no
dependency (inline SVG); ``.png`` needs matplotlib (the ``plot`` extra)."""

from __future__ import annotations

from html import escape
from pathlib import Path

from tierwise.analysis.evaluation.report import Evaluation
from tierwise.core.errors import ConfigError, InputError

W, H, PAD = 640, 420, 50
COLOURS = {
    "router": "#1f77b4",
    "random": "#999999",
    "always-cheapest": "#2ca02c",
    "always-top": "#d62728",
    "oracle": "#9467bd",
}


def write_plot(evaluations: list[Evaluation], path: Path) -> None:
    """Write one chart per dataset to ``path`` (format from its suffix)."""
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm", ".svg"):
        charts = [_svg(e) for e in evaluations]
        if suffix == ".svg":
            path.write_text(charts[0], encoding="utf-8")
        else:
            body = "\n".join(f"<figure>{c}</figure>" for c in charts)
            path.write_text(
                f"<!doctype html><meta charset='utf-8'><title>tierwise eval</title>{body}",
                encoding="utf-8",
            )
        return
    if suffix == ".png":
        _png(evaluations, path)
        return
    raise InputError(f"--plot: {path.name}: use a .html, .svg or .png file name")


def _series(evaluation: Evaluation) -> list[tuple[str, list[tuple[float, float]], bool]]:
    out = [(evaluation.router.name, evaluation.router.curve, True)]
    out.append(("random", evaluation.baselines["random"].curve, True))
    for name, result in evaluation.baselines.items():
        if result.point is not None:
            out.append((name, [(1 - result.point.savings, result.point.quality)], False))
    if evaluation.router.point is not None:
        p = evaluation.router.point
        out.append(
            (f"{evaluation.router.name} (its thresholds)", [(1 - p.savings, p.quality)], False)
        )
    return out


def _svg(evaluation: Evaluation) -> str:
    series = _series(evaluation)
    ys = [y for _, pts, _ in series for _, y in pts]
    y0, y1 = min(ys), max(ys)
    span = (y1 - y0) or 1.0

    def xy(x: float, y: float) -> tuple[float, float]:
        return PAD + x * (W - 2 * PAD), H - PAD - (y - y0) / span * (H - 2 * PAD)

    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{W}' height='{H}' font-size='11'>",
        f"<text x='{W / 2}' y='16' text-anchor='middle'>{escape(evaluation.dataset)}: quality vs "
        "cost (share of always-top's cost)</text>",
        f"<rect x='{PAD}' y='{PAD}' width='{W - 2 * PAD}' height='{H - 2 * PAD}' fill='none' "
        "stroke='#ccc'/>",
        f"<text x='{PAD}' y='{H - PAD + 14}'>0</text>",
        f"<text x='{W - PAD}' y='{H - PAD + 14}' text-anchor='end'>1</text>",
        f"<text x='{PAD - 4}' y='{H - PAD}' text-anchor='end'>{y0:.3f}</text>",
        f"<text x='{PAD - 4}' y='{PAD + 4}' text-anchor='end'>{y1:.3f}</text>",
    ]
    for number, (name, points, line) in enumerate(series):
        colour = COLOURS.get(name, COLOURS["router"] if number == 0 else "#ff7f0e")
        coords = [xy(x, y) for x, y in points]
        if line and len(coords) > 1:
            d = " ".join(f"{a:.1f},{b:.1f}" for a, b in coords)
            parts.append(f"<polyline points='{d}' fill='none' stroke='{colour}'/>")
        else:
            for a, b in coords:
                parts.append(f"<circle cx='{a:.1f}' cy='{b:.1f}' r='4' fill='{colour}'/>")
        parts.append(
            f"<text x='{W - PAD + 4 - 120}' y='{PAD + 14 + 13 * number}' fill='{colour}'>"
            f"{escape(name)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _png(evaluations: list[Evaluation], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("a PNG plot needs matplotlib: pip install 'tierwise[plot]'") from None
    figure, axes = plt.subplots(1, len(evaluations), figsize=(6 * len(evaluations), 4.5))
    for ax, evaluation in zip(axes if len(evaluations) > 1 else [axes], evaluations, strict=True):
        for name, points, line in _series(evaluation):
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            if line:
                ax.plot(xs, ys, label=name, color=COLOURS.get(name))
            else:
                ax.scatter(xs, ys, label=name, color=COLOURS.get(name))
        ax.set_title(evaluation.dataset)
        ax.set_xlabel("cost / always-top cost")
        ax.set_ylabel("quality")
        ax.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
