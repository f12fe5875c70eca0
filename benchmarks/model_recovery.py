"""Can the structural fits recover what generated the data? Parameters, families, noise.

For each behavioural family of :mod:`subrational_gym.inference` and a few true
parameter settings (all with choice noise), draw ``--episodes`` episodes from the
*reference policy* of :mod:`subrational_gym.policies` (not from the family's own code)
``--seeds`` times, and on each data set:

1. **Parameter recovery**: fit the true family with 95% profile-likelihood intervals;
   report how often each interval covers the true value (nominal 0.95, target 0.90),
   the median absolute error, and how often the data leave a parameter unbounded.
2. **Model recovery**: fit every family of the game and count how often the true one
   has the lowest BIC. A pair of families is called *identifiable* a priori when the
   rival's BIC exceeds the true family's by at least ``IDENTIFIABLE_DBIC`` (6, "strong"
   on the Kass-Raftery scale) on the *expected* counts of the same number of episodes
   (the large-sample answer, free of sampling noise). The target (the true family wins
   in 90% of seeds) applies to identifiable pairs; the others are listed with the
   expected BIC difference and the reason.
3. **The noise confound**: for every exponential agent (and a grid of extra gammas and
   temperatures up to 1), how often it would be called present-biased by the test the
   game's finding uses (:data:`PRESENT_BIAS_TEST`: naive beta-delta in the marshmallow
   game, sophisticated in procrastination), calibrated by a parametric bootstrap of
   the likelihood-ratio null (:func:`subrational_gym.inference.bootstrap_lr_test`, 99
   draws from the fitted exponential model with its noise, screened at asymptotic p
   0.25, stopping at 5 exceedances: the decision at 0.05 is the full bootstrap's).
   The asymptotic calls (chi-bar-squared, beta = 1 on the boundary) of both beta-delta
   families are kept for comparison: that reference assumes the nuisance delta is
   interior and is anti-conservative where it sits at its bound 1. Target: at most 5%
   in *every* setting (``confound.by_setting``, with Clopper-Pearson intervals), not
   only pooled; ``--rerun SETTING... --rerun-seeds 200`` reruns chosen settings with
   more seeds, and ``--confound-only`` runs this part alone.
4. **Human aggregates**: the strategy-method acceptance curve of US students (Henrich
   et al., CORE Econ unit 4.12; ``subrational_gym.human_data``), entered as weighted
   observations with an assumed 100 responders per offer: the mixture family must
   reproduce it within 0.05 at every offer and the income maximiser must be rejected.
5. **Speed**: seconds for each family's fit (with intervals) and each game's full
   comparison on one data set.

Writes ``results/model_recovery.json`` and prints Markdown tables.

    python -m benchmarks.model_recovery                      # 20 seeds, 500 episodes
    python -m benchmarks.model_recovery --tiny --out /tmp/m.json   # smoke test
    python -m benchmarks.model_recovery --confound-only --workers 1 \
        --rerun "marshmallow: exponential gamma=0.97 T=0.5" --rerun-seeds 200 \
        --out docs/benchmarks/present_bias_calibration.json   # the confound alone
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from statistics import median
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from subrational_gym import make_env, policies  # noqa: E402
from subrational_gym.envs.double_or_nothing import WIDE_WIN_PROBABILITIES  # noqa: E402
from subrational_gym.human_data import HUMAN_FIGURES  # noqa: E402
from subrational_gym.inference import (  # noqa: E402
    FAMILIES,
    NESTINGS,
    ActionCounts,
    Comparison,
    bootstrap_lr_test,
    compare,
    fit,
    get_family,
    lr_test,
)

ULTIMATUM = "Subrational/Ultimatum-v0"
MARSHMALLOW = "Subrational/Marshmallow-v0"
PROCRASTINATION = "Subrational/Procrastination-v0"
DOUBLE = "Subrational/DoubleOrNothing-v0"
COMMIT = {"self_imposed_deadline": True}
#: Expected BIC difference (rival minus truth) from which a pair counts as identifiable.
IDENTIFIABLE_DBIC = 6.0
COVERAGE_TARGET = 0.90
WIN_TARGET = 0.90
FALSE_PRESENT_BIAS_TARGET = 0.05
#: Per-setting goal of issue 23: no setting above these rates at 20 / at >= 100 seeds.
PER_SETTING_LIMITS = {20: 0.10, 100: 0.07}
#: The present-bias test each game's finding uses (``subrational_gym.hypotheses``).
PRESENT_BIAS_TEST = {"marshmallow": "beta_delta_naive",
                     "procrastination": "beta_delta_sophisticated"}
#: Bootstrap of the present-bias test: draws, asymptotic screen, sequential stop.
N_BOOT, SCREEN, STOP_AFTER = 99, 0.25, 5
#: The mixture's envy grid for a pie of 10 is 0, 0.0625, 0.204, 0.5, 1.22, 4.
MIXTURE_SHARES = (0.3, 0.0, 0.0, 0.3, 0.3, 0.1)


def _setting(name: str, env_id: str, family: str, truth: dict[str, float],
             builder: str, kwargs: dict[str, Any], env_kwargs: dict[str, Any] | None = None,
             recovery: bool = True) -> dict[str, Any]:
    return {"name": name, "env_id": env_id, "env_kwargs": env_kwargs or {}, "family": family,
            "truth": truth, "builder": builder, "kwargs": kwargs, "recovery": recovery}


def _time_settings(prefix: str, env_id: str, env_kwargs: dict[str, Any] | None,
                   cases: Sequence[tuple[str, float, float, float]]) -> list[dict[str, Any]]:
    out = []
    for family, a, b, t in cases:
        if family == "exponential":
            out.append(_setting(f"{prefix}: exponential gamma={a} T={t}", env_id, family,
                                {"gamma": a, "temperature": t}, "exponential_discounter",
                                {"gamma": a, "temperature": t}, env_kwargs))
        else:
            soph = family == "beta_delta_sophisticated"
            out.append(_setting(
                f"{prefix}: {family} beta={a} delta={b} T={t}", env_id, family,
                {"beta": a, "delta": b, "temperature": t}, "beta_delta",
                {"beta": a, "delta": b, "sophisticated": soph, "temperature": t}, env_kwargs))
    return out


SETTINGS: list[dict[str, Any]] = [
    _setting("ultimatum: income maximiser T=1", ULTIMATUM, "income_maximiser",
             {"temperature": 1.0}, "income_maximiser", {"temperature": 1.0}),
    _setting("ultimatum: inequity aversion alpha=0.5 beta=0.25 T=0.5", ULTIMATUM,
             "inequity_aversion", {"alpha": 0.5, "beta": 0.25, "temperature": 0.5},
             "inequity_averse_responder", {"alpha": 0.5, "beta": 0.25, "temperature": 0.5}),
    _setting("ultimatum: inequity aversion alpha=1 beta=0.6 T=1.5", ULTIMATUM,
             "inequity_aversion", {"alpha": 1.0, "beta": 0.6, "temperature": 1.5},
             "inequity_averse_responder", {"alpha": 1.0, "beta": 0.6, "temperature": 1.5}),
    _setting("ultimatum: mixture of envy types, beta=0.25 T=0.3", ULTIMATUM,
             "inequity_aversion_mixture",
             {**{f"share_{k}": s for k, s in enumerate(MIXTURE_SHARES)}, "beta": 0.25,
              "temperature": 0.3}, "family", {}),
    *_time_settings("marshmallow", MARSHMALLOW, None, [
        ("exponential", 0.9, 0, 0.2), ("exponential", 0.97, 0, 0.5),
        ("beta_delta_naive", 0.7, 1.0, 0.3), ("beta_delta_naive", 0.5, 1.0, 0.5),
        ("beta_delta_sophisticated", 0.7, 1.0, 0.3)]),
    *_time_settings("procrastination", PROCRASTINATION, None, [
        ("exponential", 0.9, 0, 0.5), ("beta_delta_naive", 0.6, 1.0, 0.5),
        ("beta_delta_sophisticated", 0.6, 1.0, 0.5)]),
    *_time_settings("procrastination (commitment)", PROCRASTINATION, COMMIT, [
        ("exponential", 0.9, 0, 0.5), ("beta_delta_naive", 0.6, 1.0, 0.5),
        ("beta_delta_sophisticated", 0.6, 1.0, 0.5),
        ("beta_delta_sophisticated", 0.8, 0.95, 0.3)]),
    _setting("double or nothing: risk neutral T=5", DOUBLE, "risk_neutral",
             {"temperature": 5.0}, "income_maximiser", {"temperature": 5.0}),
    _setting("double or nothing: prospect theory (myopic) T=2", DOUBLE, "prospect_theory",
             {"curvature": 0.88, "loss_aversion": 2.25, "weighting": 0.65, "temperature": 2.0},
             "prospect_theory_gambler",
             {"alpha": 0.88, "beta": 0.88, "loss_aversion": 2.25, "gamma": 0.65,
              "delta": 0.65, "temperature": 2.0}),
    _setting("double or nothing: prospect theory (naive) T=2", DOUBLE,
             "prospect_theory_naive",
             {"curvature": 0.88, "loss_aversion": 2.25, "weighting": 0.65, "temperature": 2.0},
             "prospect_theory_gambler",
             {"alpha": 0.88, "beta": 0.88, "loss_aversion": 2.25, "gamma": 0.65,
              "delta": 0.65, "planning": "naive", "temperature": 2.0}),
]
#: The odds variant of double or nothing (one win probability per episode), where loss
#: aversion is identified: lambda across [1, 3] (issue 24).
ODDS = {"win_probabilities": WIDE_WIN_PROBABILITIES}
for _lam in (1.0, 1.5, 2.0, 2.5, 3.0):
    SETTINGS.append(_setting(
        f"double or nothing (odds): prospect theory lambda={_lam} T=2", DOUBLE,
        "prospect_theory",
        {"curvature": 0.88, "loss_aversion": _lam, "weighting": 0.65, "temperature": 2.0},
        "prospect_theory_gambler",
        {"alpha": 0.88, "beta": 0.88, "loss_aversion": _lam, "gamma": 0.65, "delta": 0.65,
         "temperature": 2.0}, ODDS))
#: Extra exponential agents for the noise confound only (any gamma, temperature up to 1).
CONFOUND_GAMMAS = (0.6, 0.9, 0.99)
CONFOUND_TEMPERATURES = (0.2, 1.0)
for _prefix, _env, _kw in (("marshmallow", MARSHMALLOW, None),
                           ("procrastination", PROCRASTINATION, None),
                           ("procrastination (commitment)", PROCRASTINATION, COMMIT)):
    for _g in CONFOUND_GAMMAS:
        for _t in CONFOUND_TEMPERATURES:
            _s = _time_settings(_prefix, _env, _kw, [("exponential", _g, 0, _t)])[0]
            _s["name"] += " (confound grid)"
            _s["recovery"] = False
            SETTINGS.append(_s)

#: Why a pair of families cannot be told apart, where we know.
REASONS = {
    ("marshmallow", "beta_delta_sophisticated", "exponential"):
        "a sophisticated child who knows its future selves are noisy values waiting like "
        "an impatient exponential child; present bias itself shows only at the last "
        "minute (where waiting pays at once), which few noisy children reach",
    ("marshmallow", "beta_delta_sophisticated", "beta_delta_naive"):
        "naive and sophisticated children differ only in how they value a future that "
        "most of them never reach",
    ("marshmallow", "beta_delta_naive", "exponential"):
        "present bias shows only as a jump in waiting at the last minute; with 500 "
        "episodes few children reach it",
    ("marshmallow", "beta_delta_naive", "beta_delta_sophisticated"):
        "naive and sophisticated children differ only in how they value a future that "
        "most of them never reach",
    ("procrastination", "beta_delta_naive", "beta_delta_sophisticated"):
        "without a commitment device a naive and a sophisticated student postpone alike; "
        "the sophisticated one starts a little earlier, fearing later delay",
    ("double_or_nothing", "prospect_theory", "prospect_theory_naive"):
        "when the best plan is always 'one more round', the naive planner chooses as "
        "the myopic one",
    ("double_or_nothing", "risk_neutral", "prospect_theory"):
        "at fair odds a risk-neutral player is indifferent in every round, so its "
        "temperature is unidentified and flat prospect-theory members fit as well",
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20, help="data sets per setting")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--episodes", type=int, default=500, help="episodes per data set")
    parser.add_argument("--workers", type=int, default=2, help="processes")
    parser.add_argument("--only", nargs="+", default=None,
                        help="substrings of setting names to run (default: all)")
    parser.add_argument("--no-confound-grid", action="store_true",
                        help="skip the extra exponential agents of the noise confound")
    parser.add_argument("--out", default="results/model_recovery.json")
    parser.add_argument("--confound-only", action="store_true",
                        help="only the noise confound (exponential settings, no recovery "
                             "fits, human aggregates or speed)")
    parser.add_argument("--rerun", nargs="+", default=(),
                        help="substrings of setting names to run with --rerun-seeds seeds")
    parser.add_argument("--rerun-seeds", type=int, default=200,
                        help="seeds of the --rerun settings (from --first-seed)")
    parser.add_argument("--n-boot", type=int, default=N_BOOT,
                        help="bootstrap draws of the present-bias test")
    parser.add_argument("--no-screen-every", type=int, default=0,
                        help="bootstrap every K-th data set even above the screen (checks "
                             "that a screened-out case would not be rejected); 0: never")
    parser.add_argument("--tiny", action="store_true",
                        help="smoke test: 2 seeds, 200 episodes, one setting per game")
    parser.add_argument("--report", default=None, metavar="JSON",
                        help="print the report of a written result file and exit")
    parser.add_argument("--aggregates-only", action="store_true",
                        help="only the human aggregates (US students' acceptance curve, with "
                             "and without the $0 offer); prints them and writes nothing")
    return parser.parse_args(argv)


def build_policy(setting: dict[str, Any]) -> Any:
    """The reference policy that generates a setting's data."""
    if setting["builder"] == "family":
        template = ActionCounts.from_policy(
            policies.income_maximiser(setting["env_id"], env_kwargs=setting["env_kwargs"]), 1)
        game = make_env(setting["env_id"], **setting["env_kwargs"]).game
        return get_family(setting["family"], game).policy(template, setting["truth"])
    builder = getattr(policies, setting["builder"])
    return builder(setting["env_id"], env_kwargs=setting["env_kwargs"], **setting["kwargs"])


def expected_comparison(setting: dict[str, Any], n_episodes: int) -> dict[str, Any]:
    """Fits to the expected counts: which rivals are identifiable at this data size."""
    counts = ActionCounts.from_policy(build_policy(setting), n_episodes)
    table = compare(counts, ci=False)
    truth = setting["family"]
    game = counts.game.game
    rivals = {}
    for f in table.fits:
        if f.family == truth:
            continue
        d = f.bic - table[truth].bic
        rivals[f.family] = {
            "expected_delta_bic": d,
            "identifiable": d >= IDENTIFIABLE_DBIC,
            "reason": None if d >= IDENTIFIABLE_DBIC else REASONS.get(
                (game, truth, f.family),
                f"{f.family} nests {truth}: on the expected counts it fits equally well and "
                f"loses only the BIC penalty of its extra parameters" if (truth, f.family)
                in NESTINGS else
                "the families predict nearly the same choices in the states this policy "
                "visits"),
        }
    return {"rivals": rivals, "pseudo_true": table[truth].params}


def run_one(setting: dict[str, Any], seed: int, n_episodes: int, *,
            recovery: bool = True, n_boot: int = N_BOOT,
            screen: float | None = SCREEN) -> dict[str, Any]:
    """Everything measured on one data set of one setting.

    ``recovery=False`` skips the recovery fits (the noise confound only); ``screen``
    is the bootstrap's asymptotic screen (None: always bootstrap).
    """
    counts = ActionCounts.sample(build_policy(setting), n_episodes, seed=seed)
    game = counts.game.game
    truth = setting["family"]
    record: dict[str, Any] = {"setting": setting["name"], "seed": seed, "n_obs": counts.n_obs}
    fits = {}
    if setting["recovery"] and recovery:
        t0 = time.perf_counter()
        true_fit = fit(truth, counts, ci=True)
        record["fit_seconds"] = time.perf_counter() - t0
        fits[truth] = true_fit
        record["params"] = true_fit.params
        record["ci"] = {k: list(v) for k, v in true_fit.ci.items()}
        record["identified"] = true_fit.identified
        record["covered"] = {k: true_fit.covers(k, v) for k, v in setting["truth"].items()}
        t0 = time.perf_counter()
        for name in FAMILIES[game]:
            if name not in fits:
                fits[name] = fit(name, counts, ci=False)
        record["compare_seconds"] = time.perf_counter() - t0 + record["fit_seconds"]
        table = Comparison(tuple(sorted(fits.values(), key=lambda f: f.bic)), counts)
        record["winner"] = table.best.family
        record["delta_bic"] = table.delta_bic
    if truth == "exponential":
        tests = {}
        for general in ("beta_delta_naive", "beta_delta_sophisticated"):
            general_fit = fits.get(general) or fit(general, counts, ci=False)
            t = lr_test(counts, "exponential", general, general_fit=general_fit)
            tests[general] = {"statistic": t.statistic, "p_value": t.p_value,
                              "beta": general_fit.params["beta"],
                              "present_bias": t.rejects(0.05),
                              "interval_excludes_1": t.statistic > stats.chi2.ppf(0.95, 1)}
        record["present_bias_tests"] = tests
        record["called_present_biased_asymptotic"] = any(
            v["present_bias"] for v in tests.values())
        general = PRESENT_BIAS_TEST[game]
        record["called_present_biased_asymptotic_same_test"] = tests[general]["present_bias"]
        t0 = time.perf_counter()
        boot = bootstrap_lr_test(counts, "exponential", general, n_boot=n_boot,
                                 seed=seed, n_episodes=n_episodes, screen=screen,
                                 stop_after=STOP_AFTER if n_boot == N_BOOT else None)
        record["bootstrap_seconds"] = time.perf_counter() - t0
        record["present_bias_bootstrap"] = boot.to_dict()
        record["called_present_biased"] = boot.rejects(0.05)
    return record


def _task(args: tuple[dict[str, Any], int, int, bool, int, float | None]) -> dict[str, Any]:
    setting, seed, n_episodes, recovery, n_boot, screen = args
    return run_one(setting, seed, n_episodes, recovery=recovery, n_boot=n_boot,
                   screen=screen)


def human_aggregates(n_per_offer: float = 100.0) -> dict[str, Any]:
    """The mixture family on the US-student strategy-method acceptance curve."""
    points = {}
    for figure in HUMAN_FIGURES:
        if figure.game == "ultimatum" and "CORE Econ" in figure.source \
                and figure.low == figure.high:
            share = {"acceptance_at_0": 0.0, "acceptance_at_10pct": 0.1,
                     "acceptance_at_20pct": 0.2, "acceptance_at_50pct": 0.5}[figure.key]
            points[share] = figure.low
    env = make_env(ULTIMATUM)

    def analyse(shares: Sequence[float]) -> dict[str, Any]:
        offers = [round(share * env.pie) for share in shares]
        acceptance = np.array([points[s] for s in shares])
        obs = np.stack([env.reset(options={"offer": x})[0] for x in offers])
        counts = ActionCounts.from_choice_rates(
            ULTIMATUM, obs, np.stack([1 - acceptance, acceptance], axis=1), n=n_per_offer)
        table = compare(counts)
        fitted = table["inequity_aversion_mixture"].policy.action_distribution(obs)[:, 1]
        tests = {general: table.lr_test("income_maximiser", general).to_dict()
                 for general in ("inequity_aversion", "inequity_aversion_mixture")}
        return {
            "offers": offers, "human_acceptance": acceptance.tolist(),
            "mixture_acceptance": fitted.tolist(),
            "max_abs_error": float(np.max(np.abs(fitted - acceptance))),
            "within_0_05": bool(np.max(np.abs(fitted - acceptance)) <= 0.05),
            "lr_tests_income_maximiser": tests,
            "income_maximiser_rejected": all(t["p_value"] < 0.05 for t in tests.values()),
            "best_family_by_bic": table.best.family, "delta_bic": table.delta_bic,
            "comparison": table.to_dict(),
        }

    out = {"source": "Henrich et al. strategy-method data (US students), CORE Econ unit 4.12",
           "assumed_responders_per_offer": n_per_offer, **analyse(sorted(points))}
    # Rejecting $0 is what any envy at all does (a tie for the income maximiser): the
    # same analysis on the positive offers only says what remains without it.
    out["without_zero_offer"] = analyse([x for x in sorted(points) if x > 0])
    return out


def speed(n_episodes: int, settings: Sequence[dict[str, Any]] = SETTINGS) -> dict[str, Any]:
    """Seconds per family fit (with intervals) and per full comparison.

    One data set each of the games (and variants) among ``settings``.
    """
    out: dict[str, Any] = {}
    for setting in settings:
        if not setting["recovery"]:
            continue
        game = make_env(setting["env_id"], **setting["env_kwargs"]).game
        key = game + ("" if not setting["env_kwargs"] else " (commitment)"
                      if "self_imposed_deadline" in setting["env_kwargs"] else " (odds)")
        if key in out:
            continue
        counts = ActionCounts.sample(build_policy(setting), n_episodes, seed=12345)
        per_family = {}
        t_all = time.perf_counter()
        for name in FAMILIES[game]:
            t0 = time.perf_counter()
            fit(name, counts)
            per_family[name] = time.perf_counter() - t0
        out[key] = {"data": setting["name"], "fit_seconds": per_family,
                    "compare_seconds": time.perf_counter() - t_all}
    return out


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


def _fmt_params(d: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in d.items())


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


def _build_result(args: argparse.Namespace, argv: Sequence[str] | None,
                  settings: Sequence[dict[str, Any]], seeds: list[int],
                  records: list[dict[str, Any]], expected: dict[str, Any],
                  started: float, *, final: bool) -> dict[str, Any]:
    summary = summarise(settings, records, expected)
    confound = confound_summary(settings, records)
    pooled = confound["pooled"]
    k, n = pooled["called_present_biased"], pooled["n"]
    result: dict[str, Any] = {
        "command": "python -m benchmarks.model_recovery " + " ".join(
            f"'{a}'" if " " in a else a for a in (argv if argv is not None
                                                   else sys.argv[1:])),
        "complete": final, "confound_only": args.confound_only,
        "n_episodes": args.episodes, "seeds": seeds, "workers": args.workers,
        "rerun": {"settings": [s["name"] for s in settings
                               if any(o in s["name"] for o in args.rerun)],
                  "seeds": list(range(args.first_seed, args.first_seed + args.rerun_seeds))}
        if args.rerun else None,
        "identifiable_delta_bic": IDENTIFIABLE_DBIC,
        "targets": {"coverage": COVERAGE_TARGET, "win_rate": WIN_TARGET,
                    "false_present_bias": FALSE_PRESENT_BIAS_TARGET,
                    "per_setting_limits": {str(k2): v for k2, v in
                                           PER_SETTING_LIMITS.items()}},
        "present_bias_test": {"tests": PRESENT_BIAS_TEST, "n_boot": args.n_boot,
                              "screen": SCREEN, "stop_after": STOP_AFTER},
        "settings": list(settings), "expected": expected, "summary": summary,
        "confound": {"n": n, "called_present_biased": k, "rate": k / n if n else None,
                     "ci": pooled["ci"],
                     "met": (k / n <= FALSE_PRESENT_BIAS_TARGET) if n else None,
                     **confound},
        "records": records,
    }
    result["wall_seconds"] = time.perf_counter() - started
    return result


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.report:
        result = json.loads(Path(args.report).read_text())
        print(report(result))
        return result
    if args.aggregates_only:
        h = human_aggregates()
        for label, a in (("with the $0 offer", h), ("without it", h["without_zero_offer"])):
            print(f"{label}: offers {a['offers']}, human {a['human_acceptance']}, mixture "
                  f"max error {a['max_abs_error']:.3f}; income maximiser p = " + ", ".join(
                      f"{k}: {v['p_value']:.2g}" for k, v in a["lr_tests_income_maximiser"]
                      .items()) + f"; best by BIC {a['best_family_by_bic']} (dBIC "
                  + ", ".join(f"{k} {v:.1f}" for k, v in a["delta_bic"].items()) + ")")
        return h
    settings = SETTINGS
    if args.tiny:
        args.seeds, args.episodes = min(args.seeds, 2), min(args.episodes, 200)
        args.n_boot = min(args.n_boot, 19)
        wanted = ("ultimatum: inequity aversion alpha=0.5",
                  "marshmallow: exponential gamma=0.9 T=0.2",
                  "procrastination (commitment): beta_delta_sophisticated beta=0.6",
                  "double or nothing: prospect theory (myopic)")
        settings = [s for s in settings if s["name"].startswith(wanted)]
    if args.only:
        settings = [s for s in settings if any(o in s["name"] for o in args.only)
                    or any(o in s["name"] for o in args.rerun)]
    if args.no_confound_grid:
        settings = [s for s in settings if s["recovery"]]
    if args.confound_only:
        settings = [s for s in settings if s["family"] == "exponential"]
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    started = time.perf_counter()
    expected = {} if args.confound_only else {
        s["name"]: expected_comparison(s, args.episodes) for s in settings if s["recovery"]}
    # The reruns first, then the rest, seed by seed: a run stopped early (its JSON is
    # rewritten every 20 data sets in --confound-only) covers every setting evenly.
    jobs = sorted(((not any(o in s["name"] for o in args.rerun), seed, i, s)
                   for i, s in enumerate(settings)
                   for seed in range(args.first_seed, args.first_seed + (
                       args.rerun_seeds if any(o in s["name"] for o in args.rerun)
                       else args.seeds))), key=lambda j: j[:3])
    tasks = [(s, seed, args.episodes, not args.confound_only, args.n_boot,
              None if args.no_screen_every and (k + 1) % args.no_screen_every == 0
              else SCREEN)
             for k, (_, seed, _, s) in enumerate(jobs)]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    records: list[dict[str, Any]] = []

    def checkpoint(final: bool) -> dict[str, Any]:
        result = _build_result(args, argv, settings, seeds, records, expected, started,
                               final=final)
        if final and not args.confound_only:
            result["human_aggregates"] = human_aggregates()
            result["speed"] = speed(args.episodes, settings)
            result["wall_seconds"] = time.perf_counter() - started
        out.write_text(json.dumps(result, indent=1, default=float))
        return result

    if args.workers > 1:
        with ProcessPoolExecutor(args.workers) as pool:
            for i, record in enumerate(pool.map(_task, tasks, chunksize=1)):
                records.append(record)
                if args.confound_only and i % 20 == 19:
                    checkpoint(False)
    else:
        for i, task in enumerate(tasks):
            records.append(_task(task))
            if args.confound_only and i % 20 == 19:
                checkpoint(False)  # a long confound run can be read while it runs
    result = checkpoint(True)
    print(report(result))
    print(f"\nwrote {out} in {result['wall_seconds']:.0f} s")
    return result


if __name__ == "__main__":
    main()
