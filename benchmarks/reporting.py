"""Shared reporting for benchmark scripts: behaviour plots with human figures, Markdown tables.

Plots are written with matplotlib's Agg backend (no display needed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from subrational_gym.human_data import figures_for  # noqa: E402

TITLES = {
    "ultimatum": "Ultimatum game: acceptance by offer",
    "marshmallow": "Marshmallow test: still waiting, by minute",
    "double_or_nothing": "Double or nothing: gambling, by round",
    "procrastination": "Procrastination: started writing, by day",
}


def _curve(game: str, summary: Mapping[str, Any]) -> tuple[list[float], list[float]]:
    if game == "ultimatum":
        return summary["offer_share"], summary["acceptance"]
    if game == "marshmallow":
        return summary["minute"], [1.0 - p for p in summary["eaten_by_minute"]]
    if game == "double_or_nothing":
        return summary["round"], summary["gamble_probability"]
    start = summary["start_distribution"]
    cumulative = [sum(start[: i + 1]) for i in range(len(start))]
    return summary["day"], cumulative


_AXES = {
    "ultimatum": ("offer (share of the pie)", "P(accept)"),
    "marshmallow": ("minute", "P(still waiting)"),
    "double_or_nothing": ("round", "P(gamble | still playing)"),
    "procrastination": ("day", "P(started writing by this day)"),
}


def _human_overlay(ax: Any, game: str, xs: Sequence[float]) -> None:
    """Draw the human figures that map onto the curve's axes."""
    points = {"acceptance_at_0": 0.0, "acceptance_at_10pct": 0.1, "acceptance_at_20pct": 0.2,
              "acceptance_at_40pct": 0.4, "acceptance_at_50pct": 0.5}
    shown: set[str] = set()

    def once(label: str) -> str | None:
        # Every kind of human element gets one legend entry.
        if label in shown:
            return None
        shown.add(label)
        return label

    for fig in figures_for(game):
        mid, half = (fig.low + fig.high) / 2, (fig.high - fig.low) / 2
        if fig.key in points:
            ax.errorbar([points[fig.key]], [mid], yerr=[[half]], fmt="k*", ms=11, capsize=4,
                        mfc="black" if fig.scored else "white",
                        label=once(f"human: {fig.population}" if fig.scored
                                   else "human: other studies (context, hollow)"))
        elif fig.key == "acceptance_below_30pct":
            ax.fill_between([0.05, 0.25], fig.low, fig.high, color="grey", alpha=0.25,
                            label=once("human: about half reject offers below 30% "
                                       "(many studies)"))
        elif fig.key == "waited_full" and fig.persona == "child-4":
            ax.errorbar([xs[-1]], [mid], yerr=[[half]], fmt="k*", ms=11, capsize=4,
                        label=once("human: 4-year-olds waiting the full time"))
        elif fig.key == "gamble_first_round":
            ax.errorbar([1], [mid], yerr=[[half]], fmt="k*", ms=11, capsize=4,
                        label=once("human: fair gamble taken (gains)"))
        elif fig.key == "start_late":
            # 80-95% procrastinate: 5-20% have started by the end of the first half.
            low, high = 1 - fig.high, 1 - fig.low
            ax.errorbar([xs[len(xs) // 2 - 1]], [(low + high) / 2], yerr=[[(high - low) / 2]],
                        fmt="k*", ms=11, capsize=4,
                        label=once("human: 5-20% start in the first half"))


def plot_behaviour(
    game: str,
    curves: Mapping[str, Mapping[str, Any]],
    path: Path,
    *,
    styles: Mapping[str, Mapping[str, Any]] | None = None,
    title: str | None = None,
) -> Path:
    """Plot each policy's behaviour curve in ``game`` with the human figures overlaid.

    Args:
        game: The game.
        curves: Behaviour summary per legend label.
        path: PNG to write.
        styles: Optional matplotlib line keyword arguments per label.
        title: Plot title (default: the game's).
    """
    fig, ax = plt.subplots(figsize=(9.5, 4.8))
    xs: Sequence[float] = []
    for label, summary in curves.items():
        xs, ys = _curve(game, summary)
        style = {"marker": "o", "ls": "-", "ms": 3, "lw": 1.4,
                 **dict((styles or {}).get(label, {}))}
        ax.plot(xs, ys, label=label, **style)
    if xs:
        _human_overlay(ax, game, xs)
    ax.set_title(title or TITLES[game], fontsize=10)
    if game != "ultimatum":  # minutes, rounds and days are whole numbers
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(_AXES[game][0])
    ax.set_ylabel(_AXES[game][1])
    ax.set_ylim(-0.03, 1.03)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table; floats shown with 3 decimals."""

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3f}"
        return "" if v is None else str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def text_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A fixed-width text table for the terminal."""

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3f}"
        return "-" if v is None else str(v)

    cells = [list(map(str, headers))] + [[cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    out = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)
