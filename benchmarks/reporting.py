"""Writing results: plots, tables, and the replication's report and summary files.

Behaviour plots with human figures, Markdown and terminal tables, the replication's
Markdown report, JSON files and terminal summary.

Everything game-specific (curves, axes, titles) comes from the game's study record
(:mod:`subrational_gym.studies`). Plots are written with matplotlib's Agg backend (no
display needed).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from subrational_gym.human_data import figures_for
from subrational_gym.studies import STUDIES


def _pyplot() -> Any:
    """Matplotlib's pyplot on the Agg backend, imported at the first plot.

    The import takes seconds, and the tables and reports need none of it.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


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
                        mfc="black" if fig.scored else "white",
                        label=once(f"human: {fig.population} (scored)" if fig.scored
                                   else f"human: {fig.population} (context, hollow)"))
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
    study = STUDIES[game]
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(9.5, 4.8))
    xs: Sequence[float] = []
    for label, summary in curves.items():
        xs, ys = study.curve(summary)
        style = {"marker": "o", "ls": "-", "ms": 3, "lw": 1.4,
                 **dict((styles or {}).get(label, {}))}
        ax.plot(xs, ys, label=label, **style)
    if xs:
        _human_overlay(ax, game, xs)
    ax.set_title(title or study.title, fontsize=10)
    if game != "ultimatum":  # minutes, rounds and days are whole numbers
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(study.axes[0])
    ax.set_ylabel(study.axes[1])
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
        return "-" if v is None else str(v)

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


# ------------------------------------------------------------ replication output
def to_json(value: Any) -> Any:
    """``json.dumps`` default for numpy values, paths and dataclasses."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return str(value)


def write_json(path: Path, value: Any) -> Path:
    """Write ``value`` as indented JSON to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2, default=to_json))
    return path


def _interval(stats: Mapping[str, Any] | None) -> str:
    """``"0.412 [0.380, 0.450], worst 0.371 (3 seeds)"`` from an over-seeds record."""
    if not stats:
        return "-"
    if stats["n"] == 1:
        return f"{stats['iqm']:.3f} (1 seed)"
    return (f"{stats['iqm']:.3f} [{stats['ci_low']:.3f}, {stats['ci_high']:.3f}], worst "
            f"{stats['worst']:.3f} ({stats['n']} seeds)")


def replication_plots(records: Mapping[str, Mapping[str, Any]], folder: Path, *,
                      paper_learner: str, rl_gamma: float,
                      findings: Sequence[Mapping[str, Any]] = ()) -> dict[str, Path]:
    """One behaviour plot per game variant: personas (LLM, learned), theory, RL, humans.

    Each plot of the variant a finding is judged on says the finding's verdict (for the
    paper's learner and for the LLM's own demonstrations) in its title.
    """
    verdicts = {f["game"]: f for f in findings}
    paths = {}
    markers = ("s", "^", "v", "D")

    def commit(summary: Mapping[str, Any]) -> str:
        p = summary.get("commit_probability")
        return "" if p is None else f" (commits {p:.2f})"

    for game, variants in records.items():
        study = STUDIES[game]
        for variant, rec in variants.items():
            curves: dict[str, Mapping[str, Any]] = {}
            styles: dict[str, dict[str, Any]] = {}
            for i, (persona, r) in enumerate(rec["personas"].items()):
                colour = f"C{i}"
                if "expert" in r:
                    label = f"LLM {persona}{commit(r['expert'])}"
                    curves[label] = r["expert"]
                    styles[label] = {"color": colour, "ls": "-", "marker": "o"}
                if paper_learner in r.get("learners", {}):
                    learned = r["learners"][paper_learner]["summary"]
                    label = f"learned (DM) {persona}{commit(learned)}"
                    curves[label] = learned
                    styles[label] = {"color": colour, "ls": "--", "marker": "x"}
            shades = ("dimgrey", "darkgrey", "silver")
            # Theory curves that coincide (the income maximiser under the RL line) are
            # told apart by shade, marker and width.
            for i, (name, s) in enumerate(rec["baselines"]["references"].items()):
                label = f"theory: {name}{commit(s)}"
                curves[label] = s
                styles[label] = {"color": shades[i % 3], "ls": ":", "ms": 5, "lw": 3.0 - i,
                                 "marker": markers[i % len(markers)], "zorder": 1}
            rl = rec["baselines"]["value_iteration"][f"{rl_gamma:g}"]
            label = f"RL: value iteration gamma={rl_gamma}{commit(rl)}"
            curves[label] = rl
            styles[label] = {"color": "black", "ls": "-.", "marker": None, "lw": 1.0,
                             "zorder": 3}
            name = game if variant == "plain" else f"{game}_{variant}"
            title = study.title + ("" if variant == "plain"
                                   else f" ({variant.replace('_', '-')} variant)")
            f = verdicts.get(game)
            if f is not None and variant == study.hypothesis_variant:
                expert = f["by_source"].get("llm_expert", {}).get("reproduced", "-")
                title += (f"\nfinding {f['reproduced']} ({paper_learner}); "
                          f"{expert} (LLM's own demonstrations)")
            paths[name] = plot_behaviour(game, curves, folder / f"{name}.png", styles=styles,
                                         title=title)
    return paths


def _findings_section(summary: Mapping[str, Any], sources: Sequence[str],
                      paper_learner: str) -> list[str]:
    lines = [
        "## Findings", "",
        "Each finding is a hypothesis about how the personas differ (`subrational_gym."
        "hypotheses`), decided by one effect measured on all the game's personas at once "
        "against a smallest effect of interest (SESOI) grounded in human data: `not "
        "reproduced` when the effect's 90% interval lies below the SESOI, `reproduced` "
        "when it lies above 0 (and the finding's further conditions hold), `inconclusive` "
        f"otherwise. Verdicts are for the paper's learner ({paper_learner}), each seed "
        "judged on episodes sampled from its own policy; the other columns judge the LLM "
        "expert's own demonstrations and the other learners the run judged (budget "
        f"`{summary['budget']}`). The effect shown is the one that decided the verdict "
        "(the learner's first seed; every seed's is listed below).", "",
    ]
    others = [s for s in sources if s != paper_learner]
    headers = ["game", f"verdict ({paper_learner})", "deciding effect",
               "estimate [90% interval]", "SESOI", *others]
    rows = []
    for f in summary["findings"]:
        n = f["numbers"]
        shown = n.get("effect", {}).get("identified", True)
        interval = ("-" if "interval" not in n else
                    f"{n['value']:+.3g} [{n['interval'][0]:+.3g}, {n['interval'][1]:+.3g}]"
                    if shown else
                    f"not identified [{n['interval'][0]:+.3g}, {n['interval'][1]:+.3g}]")
        rows.append([f["game"], f["reproduced"], n.get("statistic", "-"), interval,
                     n.get("sesoi", "-"),
                     *(f["by_source"][s]["reproduced"] for s in others)])
    lines += [markdown_table(headers, rows), ""]
    for f in summary["findings"]:
        lines += [f"### {f['game']}: {f['reproduced']}", "", f["finding"], ""]
        for source, v in f["by_source"].items():
            lines.append(f"- **{source}: {v['reproduced']}.** "
                         + " ".join(r[:1].upper() + r[1:].rstrip(".") + "."
                                    for r in v["numbers"]["reasons"]))
        lines += contradictions(f["by_source"])
        lines += ["", f"*Criterion:* {f['criterion']}", ""]
    return lines


def bottom_lines(summary: Mapping[str, Any], paper_learner: str) -> list[str]:
    """The report's opening: one plain sentence per finding, the verdict and why."""
    lines = ["## Bottom line", ""]
    for f in summary["findings"]:
        expert = f["by_source"].get("llm_expert")
        line = f"- **{f['game']}: {f.get('bottom_line') or f['reproduced']}** ({paper_learner})"
        if expert is not None and expert.get("bottom_line"):
            line += f"; the LLM's own demonstrations: {expert['bottom_line']}"
        lines.append(line)
    return [*lines, ""]


def _known_answers_section(summary: Mapping[str, Any]) -> list[str]:
    from subrational_gym.controls import known_answers_markdown

    rows = summary.get("known_answers") or []
    if not rows:
        return []
    held = sum(r["as_expected"] for r in rows)
    return ["## Known answers beside the model", "",
            "The same verdict rules on controls whose answer is known, sampled at this run's "
            "episodes per persona (`subrational_gym.controls`; tested in `make test`, "
            f"printed by `python -m benchmarks.known_answers`): {held} of {len(rows)} as "
            "expected. Compare each game's verdict above with these rows.", "",
            known_answers_markdown(rows), ""]


def contradictions(by_source: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """A line per source whose verdict differs from the LLM expert's own.

    Said as noise where the two intervals overlap, as distortion where they do not.
    """
    expert = by_source.get("llm_expert")
    lines = []
    for source, v in by_source.items():
        if source == "llm_expert" or expert is None or "interval" not in v["numbers"] \
                or "interval" not in expert["numbers"] \
                or v["reproduced"] == expert["reproduced"]:
            continue
        (a, b), (c, d) = v["numbers"]["interval"], expert["numbers"]["interval"]
        overlap = a <= d and c <= b
        lines.append(
            f"- *{source} contradicts the expert's own verdict*: its interval "
            f"[{a:.3g}, {b:.3g}] and the expert's [{c:.3g}, {d:.3g}] "
            + ("overlap, so the difference is within noise." if overlap
               else "do not overlap: the learner distorts the expert."))
    return lines


def _llm_usage_section(usage: Mapping[str, Any] | None) -> list[str]:
    """Model use per game: calls per state, the labels' coverage and the order effect."""
    if not usage or not usage.get("by_game"):
        return []
    lines = ["## Model use", "",
             f"Provider profile `{usage['provider']}`, {usage['orders']} label order(s) per "
             f"state; {usage['model_calls']} model calls, {usage['cache_hits']} cache hits, "
             f"{usage['prompt_tokens']} prompt and {usage['completion_tokens']} completion "
             "tokens" + (f", cost {usage['cost']:.4f}" if usage.get("cost") is not None
                         else "") + ". Coverage: the labels' share of the probability mass "
             f"(a state below {usage['min_coverage']:g} is invalid). Order effect: total "
             "variation between the two label orders (0 = no position bias).", ""]
    rows = []
    for game, rec in usage["by_game"].items():
        cov, eff = rec.get("coverage") or {}, rec.get("order_effect") or {}
        rows.append([game, rec["decision_states"], f"{rec['calls_per_state']:.2f}",
                     rec["invalid_states"],
                     f"{cov['min']:.3f} / {cov['median']:.3f}" if cov else "-",
                     cov.get("below_threshold", "-"),
                     f"{eff['mean']:.3f} (max {eff['max']:.3f})" if eff else "-"])
    lines += [markdown_table(["game", "states asked", "calls per state", "invalid",
                              "coverage min / median", "below threshold",
                              "order effect mean"], rows), ""]
    if usage.get("degradations"):
        lines += ["Degraded once after the endpoint named a limit: "
                  + "; ".join(usage["degradations"]), ""]
    return lines


def replication_report(
    summary: Mapping[str, Any], records: Mapping[str, Mapping[str, Any]],
    perf: Mapping[str, Any] | None, plots: Mapping[str, Path], *, endpoint: str,
    sources: Sequence[str], paper_learner: str,
) -> str:
    """The replication's Markdown report."""
    games = list(records)
    lines = [
        "# Replication of Coletta et al. 2024 (arXiv 2402.08755)", "",
        f"Model `{summary['model']}` at {endpoint}, budget `{summary['budget']}`, mode "
        f"`{summary['mode']}`, finished {summary['finished_at']} in "
        f"{summary['wall_seconds']:.0f} s.", "",
    ]
    lines += bottom_lines(summary, paper_learner)
    lines += _findings_section(summary, sources, paper_learner)
    lines += _known_answers_section(summary)
    lines += ["## Behavioural model card", "",
              "See [model_card.md](model_card.md): the best-fitting family of each persona "
              "of the model, with its parameters and intervals.", ""]
    lines += _llm_usage_section(summary.get("llm_usage"))
    lines += ["## Imitation fidelity (total variation to the LLM expert)", "",
              "Visit-weighted total variation between each learner and the expert it "
              "imitates: interquartile mean over seeds [95% bootstrap CI].", ""]
    rows = []
    for game in games:
        for variant, rec in records[game].items():
            for persona, r in rec["personas"].items():
                for alg, lr in r.get("learners", {}).items():
                    tv, km = lr["tv_mean"], lr["key_metric"]
                    rows.append([game, variant, persona, alg,
                                 f"{tv['iqm']:.3f} [{tv['ci_low']:.3f}, {tv['ci_high']:.3f}]",
                                 f"{km['iqm']:.3f}", tv["n_runs"]])
    lines += [markdown_table(["game", "variant", "persona", "learner", "TV (IQM [CI])",
                              "key metric (IQM)", "seeds"], rows), ""]
    lines += ["Key metric per game: " + "; ".join(
        f"{g}: {STUDIES[g].key_metric_name}" for g in games) + ".", ""]
    lines += ["## Human figures", "",
              "Published human figures each game is scored against "
              "(`subrational_gym.human_data`).", ""]
    rows = [[fig.game, fig.quantity, f"{fig.low:g}" if fig.low == fig.high
             else f"{fig.low:g} to {fig.high:g}", fig.persona or "-", fig.population,
             "yes" if fig.scored else "context", fig.source]
            for g in games for fig in STUDIES[g].human_figures]
    lines += [markdown_table(["game", "quantity", "human value", "compared persona",
                              "population", "in the score", "source"], rows), ""]
    fidelity = summary["fidelity"]
    lines += ["## Human fidelity (skill against the best constant policy)", "",
              fidelity["scale"], "",
              "Skill of the policy each family learned or played (learners: the seed-mean "
              "policy), beside the trivial baseline (the best constant, 0 by definition) "
              "and chance; `-` marks a game whose figures a constant matches (not "
              "informative). The last column gives the overall skill over seeds: "
              "interquartile mean [95% bootstrap CI], the worst seed, and the number of "
              "seeds (a family with one run, such as the LLM's own tabulation or a "
              "closed-form policy, has no interval).", ""]
    fams = sorted({s for g in fidelity["per_game"].values() for s in g})
    over = fidelity.get("overall_over_seeds", {})
    rows = [[fam, *(fidelity["per_game"][g].get(fam) for g in games),
             fidelity["overall"].get(fam), _interval(over.get(fam))] for fam in fams]
    lines += [markdown_table(["policy", *games, "overall", "overall over seeds"], rows), ""]
    lines += ["## Behaviour plots", ""]
    for game, path in plots.items():
        lines += [f"![{game}](plots/{path.name})", ""]
    if perf:
        lines += ["## Performance", "", markdown_table(["measure", "value"], perf_rows(perf)),
                  ""]
    lines += ["The embedded 270M model exercises the pipeline; it is far too small to be a "
              "credible human simulator, so 'not reproduced' is the expected honest answer "
              "with it. Run against a stronger model with `--base-url` and `--model`.", ""]
    return "\n".join(lines)


def perf_rows(perf: Mapping[str, Any]) -> list[list[str]]:
    """The performance record as (measure, value) rows for reading."""
    calls = perf["llm_calls_per_state"]
    cold = perf["tabulate_all_games_one_persona"]
    score, sample = calls["score_mode"], calls["sample_mode_10_samples"]
    rows = [
        ["model calls per decision state, score mode (each game's default persona)",
         f"{score['value']:.2f}" if score["value"] is not None else score["note"]],
        ["model calls per decision state, sample mode with 10 samples "
         f"({sample.get('game', 'ultimatum')})",
         f"{sample['value']:.2f}" if sample["value"] is not None else sample["note"]],
        ["tabulating all four games for one persona, cold cache",
         f"{cold['value']:.1f} s ({cold['model_calls']} model calls)"
         if cold["value"] is not None else cold["note"]],
        ["model calls of a second identical run", str(perf["second_identical_run_calls"]["value"])],
    ]
    for env, v in perf["env_steps_per_second"].items():
        rows.append([f"env steps per second: {env}",
                     f"{v['value']:,.0f} ({v['ratio_to_frozenlake']:.2f}x FrozenLake-v1)"])
    for alg, t in perf["learner_train_seconds"]["value"].items():
        rows.append([f"training seconds: {alg}", f"mean {t['mean_seconds']:.1f}, max "
                     f"{t['max_seconds']:.1f} ({t['runs']} runs)"])
    if "training_jobs" in perf:
        t = perf["training_jobs"]
        where = t["executor"] + (f", {t['workers']} workers" if t["executor"] == "local" else "")
        rows.append(["training jobs (all learners and RL baselines)",
                     f"{t['jobs']} jobs, {t['reused']} reused from an earlier run, "
                     f"{t['value']:.0f} s from the first job to the last ({where}), of "
                     f"which {t.get('waited_after_tabulation', t['value']):.0f} s after the "
                     f"tabulation"])
    for key, label in (("replication_wall_seconds", "replication wall time"),
                       ("make_demo_wall_seconds", "make demo wall time, installation "
                                                  "included")):
        if key in perf:
            rows.append([label, f"{perf[key]['value']:.0f} s"])
    return rows


def terminal_summary(summary: Mapping[str, Any], perf: Mapping[str, Any] | None, *,
                     endpoint: str, paper_learner: str, report: Path) -> str:
    """The summary shown on the terminal at the end of a replication."""
    lines = ["", f"Model {summary['model']} at {endpoint}; budget {summary['budget']}; "
                 f"{summary['wall_seconds']:.0f} s"]
    rows = []
    for f in summary["findings"]:
        fid = summary["fidelity"]["per_game"].get(f["game"], {})
        rows.append([f["game"], f["reproduced"],
                     f["by_source"].get("llm_expert", {}).get("reproduced", "-"),
                     fid.get("llm_expert"), fid.get(paper_learner)])
    lines.append(text_table(["game", f"verdict ({paper_learner})", "verdict (LLM)",
                             "fidelity skill: LLM", "fidelity skill: learned"], rows))
    over = summary["fidelity"].get("overall_over_seeds", {})
    lines.append("human-fidelity skill, mean over informative games (1 = the human figures, "
                 "<= 0 = no better than the best constant policy):")
    lines += [f"  {k}: {v:.3f}" + (f"; over seeds {_interval(over[k])}"
                                    if over.get(k, {}).get("n", 1) > 1 else "")
              for k, v in summary["fidelity"]["overall"].items() if v is not None]
    if perf:
        calls = perf["llm_calls_per_state"]
        score, cold = calls["score_mode"]["value"], perf["tabulate_all_games_one_persona"]["value"]
        sample = calls["sample_mode_10_samples"]["value"]
        lines.append("LLM calls per state: score "
                     + (f"{score:.2f}" if score is not None else "(answers cached)")
                     + ", sample(10) "
                     + (f"{sample:.2f}; " if sample is not None else "(answers cached); ")
                     + (f"cold tabulation of 4 games {cold:.1f} s; " if cold is not None
                        else "")
                     + f"second run {perf['second_identical_run_calls']['value']} calls")
    lines.append(f"Report: {report}")
    lines.append("Bottom line:")
    lines += [f"  {f['game']}: {f.get('bottom_line') or f['reproduced']}"
              for f in summary["findings"]]
    return "\n".join(lines)
