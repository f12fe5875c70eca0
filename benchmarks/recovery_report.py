"""Summaries and the Markdown report of :mod:`benchmarks.model_recovery`.

:func:`summarise` (parameter and model recovery per setting) and
:func:`confound_summary` (the noise confound per setting and pooled, with
Clopper-Pearson intervals) turn the per-data-set records into the result's summary;
:func:`report` prints a result as Markdown tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import median
from typing import Any

import numpy as np
from scipy import stats

from benchmarks.recovery_settings import (
    COVERAGE_TARGET,
    FALSE_PRESENT_BIAS_TARGET,
    IDENTIFIABLE_DBIC,
    N_BOOT,
    PER_SETTING_LIMITS,
    PRESENT_BIAS_TEST,
    SCREEN,
    WIN_TARGET,
)
from subrational_gym import make_env, policies
from subrational_gym.inference import ActionCounts, get_family


def summarise(settings: Sequence[dict[str, Any]], records: Sequence[dict[str, Any]],
              expected: dict[str, Any]) -> list[dict[str, Any]]:
    """Per setting: coverage, errors, win rate over identifiable rivals, confound rate."""
    rows = []
    for setting in settings:
        recs = [r for r in records if r["setting"] == setting["name"]]
        row: dict[str, Any] = {"setting": setting["name"], "family": setting["family"],
                               "truth": setting["truth"], "n_seeds": len(recs)}
        if setting["recovery"] and recs and "params" in recs[0]:
            params = {}
            for k, v in setting["truth"].items():
                errors = [abs(r["params"][k] - v) for r in recs]
                params[k] = {
                    "coverage": float(np.mean([r["covered"][k] for r in recs])),
                    "median_abs_error": float(median(errors)),
                    "median_estimate": float(median(r["params"][k] for r in recs)),
                    "unbounded_share": float(np.mean([not r["identified"].get(k, True)
                                                      for r in recs])),
                    "median_ci_width_share_of_range": float(median(
                        _width_share(setting, k, *r["ci"][k]) for r in recs)),
                }
            row["params"] = params
            exp = expected[setting["name"]]["rivals"]
            identifiable = [f for f, e in exp.items() if e["identifiable"]]
            row["win_rate"] = float(np.mean([r["winner"] == setting["family"] for r in recs]))
            row["win_rate_over_identifiable"] = float(np.mean([
                all(r["delta_bic"][f] > 0 for f in identifiable) for r in recs])) \
                if identifiable else None
            row["identifiable_rivals"] = identifiable
            row["not_identifiable"] = {f: e for f, e in exp.items() if not e["identifiable"]}
            row["coverage_met"] = all(p["coverage"] >= COVERAGE_TARGET for p in params.values())
            row["model_recovery_met"] = (row["win_rate_over_identifiable"] >= WIN_TARGET
                                         if identifiable else None)
            row["median_fit_seconds"] = float(median(r["fit_seconds"] for r in recs))
            row["median_compare_seconds"] = float(median(r["compare_seconds"] for r in recs))
        if setting["family"] == "exponential" and recs:
            row["called_present_biased"] = float(np.mean([r["called_present_biased"]
                                                          for r in recs]))
        rows.append(row)
    return rows


def clopper_pearson(k: int, n: int, level: float = 0.95) -> list[float] | None:
    """Exact (Clopper-Pearson) interval of a binomial rate; None for no data."""
    if n == 0:
        return None
    ci = stats.binomtest(k, n).proportion_ci(level, method="exact")
    return [float(ci.low), float(ci.high)]


def _limit(n: int) -> float | None:
    """The issue's per-setting limit at ``n`` data sets (None below 20)."""
    ok = [rate for at, rate in PER_SETTING_LIMITS.items() if n >= at]
    return min(ok) if ok else None


def confound_summary(settings: Sequence[dict[str, Any]],
                     records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The noise confound per setting and pooled, by the calibrated and the old test.

    ``called`` is the bootstrap-calibrated test of :data:`PRESENT_BIAS_TEST`;
    ``asymptotic_any`` the old call (naive or sophisticated, chi-bar reference) and
    ``asymptotic_same_test`` the chi-bar call of the calibrated test's family.
    """
    keys = {"called": "called_present_biased",
            "asymptotic_any": "called_present_biased_asymptotic",
            "asymptotic_same_test": "called_present_biased_asymptotic_same_test"}
    rows = []
    pooled = {k: [0, 0] for k in keys}
    for setting in settings:
        recs = [r for r in records if r["setting"] == setting["name"]
                and "called_present_biased" in r]
        if not recs:
            continue
        n = len(recs)
        game = make_env(setting["env_id"], **setting["env_kwargs"]).game
        row: dict[str, Any] = {"setting": setting["name"], "n": n,
                               "test": f"exponential inside {PRESENT_BIAS_TEST[game]}"}
        for name, key in keys.items():
            k = int(sum(bool(r.get(key, False)) for r in recs))
            pooled[name][0] += k
            pooled[name][1] += n
            row[name] = {"called_present_biased": k, "rate": k / n,
                         "ci": clopper_pearson(k, n)}
        boots = [r["present_bias_bootstrap"] for r in recs if "present_bias_bootstrap" in r]
        row["screened"] = int(sum(b["screened"] for b in boots))
        row["bootstrap_draws"] = int(sum(b["n_boot"] for b in boots))
        limit = _limit(n)
        row["limit"] = limit
        row["met"] = None if limit is None else row["called"]["rate"] <= limit
        rows.append(row)
    out: dict[str, Any] = {"by_setting": rows}
    for name, (k, n) in pooled.items():
        out["pooled" if name == "called" else f"pooled_{name}"] = {
            "n": n, "called_present_biased": k, "rate": k / n if n else None,
            "ci": clopper_pearson(k, n)}
    worst = max(rows, key=lambda r: (r["called"]["rate"], r["n"]), default=None)
    out["worst_setting"] = worst and {"setting": worst["setting"], "n": worst["n"],
                                      **worst["called"]}
    judged = [r["met"] for r in rows if r["met"] is not None]
    out["every_setting_met"] = all(judged) if judged else None
    out["screen_check"] = screen_check(records)
    return out


def screen_check(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Data sets bootstrapped although their asymptotic p was above the screen.

    The screen's claim: such a case is not rejected by the bootstrap at 0.05.
    """
    boots = [r["present_bias_bootstrap"] for r in records
             if r.get("present_bias_bootstrap") and r["present_bias_bootstrap"]["screen"]
             is None and not r["present_bias_bootstrap"]["screened"]]
    above = [b for b in boots if b["asymptotic_p"] >= SCREEN]
    rejected = [b for b in above if b["p_value"] < 0.05]
    return {"screen": SCREEN, "n_checked": len(above),
            "rejected_by_bootstrap": len(rejected),
            "min_bootstrap_p": min((b["p_value"] for b in above), default=None),
            "checked_all_bootstrapped_with_asymptotic_p_below": {
                "n": len(boots) - len(above),
                "rejected_by_bootstrap": sum(b["p_value"] < 0.05 for b in boots
                                             if b["asymptotic_p"] < SCREEN)}}


def _width_share(setting: dict[str, Any], name: str, low: float, high: float) -> float:
    """Width of an interval as a share of the parameter's range (log scale where fitted so)."""
    game = make_env(setting["env_id"], **setting["env_kwargs"]).game
    template = ActionCounts.from_policy(
        policies.income_maximiser(setting["env_id"], env_kwargs=setting["env_kwargs"]), 1)
    spec = {p.name: p for p in get_family(setting["family"], game).parameters(template)}[name]
    lo, hi, a, b = (spec.to_internal(x) for x in (low, high, spec.low, spec.high))
    return float((hi - lo) / (b - a))

def report_confound(result: dict[str, Any]) -> list[str]:
    """Markdown table of the noise confound, per setting and pooled."""
    c = result["confound"]
    lines = ["## The noise confound: exponential agents called present-biased "
             f"(target <= {FALSE_PRESENT_BIAS_TARGET:.0%} in every setting)", "",
             "calibrated: parametric bootstrap of the game's test "
             f"({N_BOOT} draws, screen {SCREEN:g}); old: chi-bar-squared, naive or "
             "sophisticated; old same test: chi-bar-squared of the calibrated test", "",
             "| setting | n | calibrated (95% CI) | old | old same test | screened |",
             "|---|---|---|---|---|---|"]

    def cell(d: dict[str, Any]) -> str:
        if d.get("ci") is None:
            return "-"
        lo, hi = d["ci"]
        return f"{d['called_present_biased']} ({d['rate']:.3f}, {lo:.3f}-{hi:.3f})"

    if not c.get("n"):
        return []

    for row in c["by_setting"]:
        lines.append(f"| {row['setting']} | {row['n']} | {cell(row['called'])} | "
                     f"{cell(row['asymptotic_any'])} | {cell(row['asymptotic_same_test'])} "
                     f"| {row['screened']} |")
    lines.append(f"| **all** | {c['n']} | **{cell(c['pooled'])}** | "
                 f"{cell(c['pooled_asymptotic_any'])} | "
                 f"{cell(c['pooled_asymptotic_same_test'])} | |")
    w = c["worst_setting"]
    if w:
        lines += ["", f"worst setting: {w['setting']}: {w['called_present_biased']}/{w['n']} "
                      f"({w['rate']:.3f}); every setting within the issue's limits: "
                      f"{c['every_setting_met']}; screen check: {c['screen_check']}"]
    return lines


def loss_aversion_ordering(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 24's two-gambler ordering on the odds variant.

    For each pair of gamblers (lower and higher lambda), over the seeds both ran: how
    often the two 95% lambda intervals are disjoint in the right order, and how often the
    point estimates are ordered.
    """
    runs: dict[float, dict[int, dict[str, Any]]] = {}
    for r in result.get("records", []):
        if r["setting"].startswith("double or nothing (odds)") and "ci" in r:
            lam = next(s["truth"]["loss_aversion"] for s in result["settings"]
                       if s["name"] == r["setting"])
            runs.setdefault(lam, {})[r["seed"]] = r
    out = []
    lams = sorted(runs)
    for i, low in enumerate(lams):
        for high in lams[i + 1:]:
            seeds = sorted(set(runs[low]) & set(runs[high]))
            if not seeds:
                continue
            disjoint = sum(runs[low][s]["ci"]["loss_aversion"][1]
                           < runs[high][s]["ci"]["loss_aversion"][0] for s in seeds)
            ordered = sum(runs[low][s]["params"]["loss_aversion"]
                          < runs[high][s]["params"]["loss_aversion"] for s in seeds)
            out.append({"low": low, "high": high, "seeds": len(seeds),
                        "intervals_disjoint_and_ordered": disjoint,
                        "estimates_ordered": ordered})
    return out


def report(result: dict[str, Any]) -> str:
    """Markdown tables of a result."""
    if result.get("confound_only"):
        return "\n".join(report_confound(result))
    lines = [f"## Parameter recovery ({result['n_episodes']} episodes, seeds "
             f"{result['seeds'][0]}-{result['seeds'][-1]}; target coverage "
             f"{COVERAGE_TARGET:.0%})", "",
             "| setting | parameter | coverage | median estimate | median abs error | "
             "median interval width (share of range) | unbounded |",
             "|---|---|---|---|---|---|---|"]
    for row in result["summary"]:
        for k, p in row.get("params", {}).items():
            lines.append(f"| {row['setting']} | {k} (true {row['truth'][k]:g}) | "
                         f"{p['coverage']:.2f} | {p['median_estimate']:.3g} | "
                         f"{p['median_abs_error']:.3g} | "
                         f"{p['median_ci_width_share_of_range']:.2f} | "
                         f"{p['unbounded_share']:.2f} |")
    lines += ["", f"## Model recovery (identifiable: expected BIC gap >= {IDENTIFIABLE_DBIC:g}; "
              f"target {WIN_TARGET:.0%})", "",
              "| setting | wins (all rivals) | wins over identifiable rivals | "
              "not identifiable from |", "|---|---|---|---|"]
    for row in result["summary"]:
        if "win_rate" not in row:
            continue
        loose = "; ".join(f"{f} (expected dBIC {e['expected_delta_bic']:.1f}: {e['reason']})"
                          for f, e in row["not_identifiable"].items()) or "-"
        over = (f"{row['win_rate_over_identifiable']:.2f}" if row["identifiable_rivals"]
                else "n/a")
        lines.append(f"| {row['setting']} | {row['win_rate']:.2f} | {over} | {loose} |")
    lines += [""] + report_confound(result)
    pairs = loss_aversion_ordering(result)
    if pairs:
        lines += ["", "## Two gamblers on the odds variant: is lambda ordered?", "",
                  "| lambda (low, high) | seeds | 95% intervals disjoint, ordered | "
                  "estimates ordered |", "|---|---|---|---|"]
        lines += [f"| {p['low']:g}, {p['high']:g} | {p['seeds']} | "
                  f"{p['intervals_disjoint_and_ordered']} | {p['estimates_ordered']} |"
                  for p in pairs]
    h = result["human_aggregates"]
    lines += ["", "## Human aggregates (strategy method, US students)", "",
              f"offers {h['offers']}: human {h['human_acceptance']}, mixture "
              f"{[round(x, 3) for x in h['mixture_acceptance']]}; max error "
              f"{h['max_abs_error']:.3f}; income maximiser rejected: "
              f"{h['income_maximiser_rejected']} (p = " + ", ".join(
                  f"{k}: {v['p_value']:.2g}" for k, v in h["lr_tests_income_maximiser"].items())
              + ")"]
    w = h.get("without_zero_offer")
    if w:
        lines += ["", f"Without the $0 offer (offers {w['offers']}): income maximiser rejected: "
                  f"{w['income_maximiser_rejected']} (p = " + ", ".join(
                      f"{k}: {v['p_value']:.2g}" for k, v in w["lr_tests_income_maximiser"]
                      .items()) + f"); best family by BIC: {w['best_family_by_bic']}"]
    lines += ["", "## Speed (one data set, seconds)", "", "| game | per family | comparison |",
              "|---|---|---|"]
    for game, s in result["speed"].items():
        per = ", ".join(f"{k} {v:.2f}" for k, v in s["fit_seconds"].items())
        lines.append(f"| {game} | {per} | {s['compare_seconds']:.2f} |")
    return "\n".join(lines)
