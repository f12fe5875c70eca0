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

Writes ``results/model_recovery.json`` and prints Markdown tables. The settings and
targets are in :mod:`benchmarks.recovery_settings`, the summaries and the report in
:mod:`benchmarks.recovery_report`.

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
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from benchmarks.recovery_report import (  # noqa: E402
    confound_summary,
    report,
    summarise,
)
from benchmarks.recovery_settings import (  # noqa: E402
    COVERAGE_TARGET,
    FALSE_PRESENT_BIAS_TARGET,
    IDENTIFIABLE_DBIC,
    N_BOOT,
    PER_SETTING_LIMITS,
    PRESENT_BIAS_TEST,
    REASONS,
    SCREEN,
    SETTINGS,
    STOP_AFTER,
    ULTIMATUM,
    WIN_TARGET,
    build_policy,
)
from subrational_gym import make_env  # noqa: E402
from subrational_gym.human_data import HUMAN_FIGURES  # noqa: E402
from subrational_gym.inference import (  # noqa: E402
    FAMILIES,
    NESTINGS,
    ActionCounts,
    Comparison,
    bootstrap_lr_test,
    compare,
    fit,
    lr_test,
)


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
