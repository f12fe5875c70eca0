"""How the exact tabular model scales: build and value-iteration time, and peak memory.

Run: ``python -m benchmarks.model_scale``; prints a Markdown table and writes
``results/model_scale.json`` and ``results/model_scale.md``. Each case runs in a fresh
subprocess, so its peak resident memory is its own (``VmHWM`` of ``/proc/self/status``
on Linux: ``ru_maxrss`` would report the parent's peak when the parent is larger, as under
pytest); the figure includes the interpreter and the imports (numpy, gymnasium),
reported alone as ``imports_rss_mib``. A second subprocess per case measures the peak of the memory
Python and numpy allocate (``tracemalloc``) over the build and value iteration; its
times are not used (tracing slows allocation). ``--baseline-tree DIR`` measures the
code in ``DIR`` as well (for example ``git archive 5037a35 | tar -x -C DIR``: the dense
model), for the cases whose dense matrix takes at most ``--baseline-max-gib``.

Targets (issue 12): Marshmallow with ``wait_minutes=10000`` and Procrastination with
``deadline_days=365`` build their exact model and solve value iteration in under 5 s
and 500 MB each.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 5.0
TARGET_MB = 500.0
#: The dense model's figures in /work/shared/STACK_NOTES.md ("The exact tabular model
#: today"), measured before the sparse model on the same kind of machine.
STACK_NOTES_DENSE = {
    "marshmallow wait_minutes=5000": {"seconds": 3.5, "memory": "1.58 GB"},
    "marshmallow wait_minutes=10000": {"seconds": 14.6, "memory": "6.2 GB"},
}

#: (name, env id, kwargs, whether issue 12 sets the target for it).
CASES: list[tuple[str, str, dict[str, Any], bool]] = [
    ("marshmallow wait_minutes=5000", "Subrational/Marshmallow-v0", {"wait_minutes": 5000},
     False),
    ("marshmallow wait_minutes=10000", "Subrational/Marshmallow-v0", {"wait_minutes": 10000},
     True),
    ("procrastination deadline_days=365", "Subrational/Procrastination-v0",
     {"deadline_days": 365}, True),
    ("procrastination deadline_days=365, self-imposed deadline",
     "Subrational/Procrastination-v0", {"deadline_days": 365, "self_imposed_deadline": True},
     True),
    # The largest procrastination model the validation allows (work_days_needed can be as
    # large as deadline_days): about 134,000 states, 270 GiB as a dense matrix.
    ("procrastination deadline_days=365, work_days_needed=365, self-imposed deadline",
     "Subrational/Procrastination-v0",
     {"deadline_days": 365, "work_days_needed": 365, "self_imposed_deadline": True}, False),
]
TINY_CASES: list[tuple[str, str, dict[str, Any], bool]] = [
    ("marshmallow wait_minutes=50", "Subrational/Marshmallow-v0", {"wait_minutes": 50}, True),
    ("procrastination deadline_days=30", "Subrational/Procrastination-v0",
     {"deadline_days": 30}, True),
]


def measure_in_child(spec: dict[str, Any]) -> dict[str, Any]:
    """Measure one case in this process (run in a fresh subprocess by :func:`run_case`).

    Only the API that the dense model already had is used, so the same code measures a
    baseline tree. ``spec`` has ``tree``, ``env_id``, ``env_kwargs``, ``gamma``, ``extras``
    (also time policy evaluation, occupancy and a log-likelihood) and ``trace``.
    """
    import resource
    import time
    import tracemalloc

    sys.path.insert(0, spec["tree"])
    import subrational_gym
    from subrational_gym import make_env
    from subrational_gym.planning import value_iteration

    def rss_mib() -> float:
        # Peak resident memory of this process's own address space. After fork and exec
        # Linux's ru_maxrss keeps the parent's peak if it was higher; VmHWM does not.
        try:
            status = Path("/proc/self/status").read_text()
        except OSError:
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024  # kB

    out: dict[str, Any] = {"code": str(Path(subrational_gym.__file__).parent),
                           "imports_rss_mib": rss_mib()}
    game = make_env(spec["env_id"], **spec["env_kwargs"])
    if spec["trace"]:
        tracemalloc.start()
    start = time.perf_counter()
    model = game.tabular_model()
    built = time.perf_counter()
    values = value_iteration(model, spec["gamma"])
    solved = time.perf_counter()
    if spec["trace"]:
        out["tracemalloc_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        return out
    out.update(n_states=model.n_states, n_actions=model.n_actions, build_s=built - start,
               value_iteration_s=solved - built, build_and_solve_s=solved - start,
               peak_rss_mib=rss_mib(), start_value=float(model.initial_distribution @ values.v))
    sparse = getattr(model, "sparse_transitions", None)
    out["nnz"] = None if sparse is None else sparse.nnz
    if spec["extras"]:
        from subrational_gym.evaluation import state_occupancy
        from subrational_gym.inference import ActionCounts, log_likelihood
        from subrational_gym.planning import policy_evaluation, softmax_choice

        probs = softmax_choice(values.q, 0.3)
        t = time.perf_counter()
        policy_evaluation(model, probs, spec["gamma"])
        out["policy_evaluation_s"] = time.perf_counter() - t
        t = time.perf_counter()
        occ = state_occupancy(model, probs)
        out["occupancy_s"] = time.perf_counter() - t
        counts = 500 * occ[:, None] * probs
        counts[model.terminal_mask] = 0.0
        data = ActionCounts(model.env_id, dict(model.env_kwargs), counts, game)
        params = {"beta": 0.7, "delta": spec["gamma"], "temperature": 0.3}
        t = time.perf_counter()
        log_likelihood("beta_delta_sophisticated", data, params)
        out["loglik_sophisticated_s"] = time.perf_counter() - t
        out["peak_rss_with_extras_mib"] = rss_mib()
    return out


def run_case(tree: Path, env_id: str, env_kwargs: dict[str, Any], *, trace: bool,
             extras: bool, gamma: float = 0.999, timeout: float = 900) -> dict[str, Any]:
    """Run :func:`measure_in_child` in a fresh subprocess and return what it measured."""
    spec = {"tree": str(tree), "env_id": env_id, "env_kwargs": env_kwargs, "gamma": gamma,
            "trace": trace, "extras": extras}
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.model_scale", "--child", json.dumps(spec)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else
                f"exit status {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(cases: list[tuple[str, str, dict[str, Any], bool]], *, trace: bool = True,
            baseline_tree: Path | None = None, baseline_max_gib: float = 2.0
            ) -> list[dict[str, Any]]:
    """Every case on this tree (and the baseline tree where its dense matrix fits)."""
    rows = []
    for name, env_id, kwargs, target in cases:
        print(f"measuring {name} ...", file=sys.stderr, flush=True)
        row: dict[str, Any] = {"case": name, "env_id": env_id, "env_kwargs": kwargs,
                               "issue_target": target}
        row["sparse"] = run_case(ROOT, env_id, kwargs, trace=False, extras=True)
        if trace and "error" not in row["sparse"]:
            row["sparse"].update(run_case(ROOT, env_id, kwargs, trace=True, extras=False))
        n = row["sparse"].get("n_states")
        if n is not None:
            row["dense_matrix_gib"] = n * row["sparse"]["n_actions"] * n * 8 / 2**30
        if baseline_tree is not None and n is not None:
            if row["dense_matrix_gib"] <= baseline_max_gib:
                row["baseline"] = run_case(baseline_tree, env_id, kwargs, trace=False,
                                           extras=False)
            else:
                row["baseline"] = {"skipped": f"dense matrix {row['dense_matrix_gib']:.1f} GiB "
                                              f"> --baseline-max-gib {baseline_max_gib}"}
            if "start_value" in row["baseline"]:
                # The same optimum from both models (value of the start distribution).
                row["same_start_value"] = abs(row["baseline"]["start_value"]
                                              - row["sparse"]["start_value"]) <= 1e-9
        sp = row["sparse"]
        if "error" not in sp:
            row["meets_target"] = (sp["build_and_solve_s"] < TARGET_SECONDS
                                   and sp["peak_rss_mib"] * 2**20 / 1e6 < TARGET_MB)
        rows.append(row)
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    """The results as a Markdown table."""
    head = ("| case | states | build + value iteration (s) | peak RSS (MiB; imports alone) "
            "| tracemalloc peak (MiB) | dense code: s, peak RSS (MiB) | under 5 s and 500 MB |\n"
            "|---|---|---|---|---|---|---|\n")
    lines = []
    for row in rows:
        sp = row["sparse"]
        if "error" in sp:
            lines.append(f"| {row['case']} | error: {sp['error']} | | | | | |")
            continue
        base = row.get("baseline")
        if base is None:
            dense = STACK_NOTES_DENSE.get(row["case"])
            dense_txt = (f"{dense['seconds']} s, {dense['memory']} (STACK_NOTES)"
                         if dense else "not run")
        elif "skipped" in base or "error" in base:
            dense_txt = base.get("skipped") or f"error: {base['error']}"
            dense = STACK_NOTES_DENSE.get(row["case"])
            if dense:
                dense_txt += f"; STACK_NOTES: {dense['seconds']} s, {dense['memory']}"
        else:
            dense_txt = f"{base['build_and_solve_s']:.2f} s, {base['peak_rss_mib']:.0f}"
            dense = STACK_NOTES_DENSE.get(row["case"])
            if dense:
                dense_txt += f" (STACK_NOTES: {dense['seconds']} s, {dense['memory']})"
        traced = sp.get("tracemalloc_peak_mib")
        verdict = "yes" if row["meets_target"] else "NO"
        if not row["issue_target"]:
            verdict += " (not a target)"
        lines.append(
            f"| {row['case']} | {sp['n_states']:,} | {sp['build_s']:.2f} + "
            f"{sp['value_iteration_s']:.2f} = {sp['build_and_solve_s']:.2f} | "
            f"{sp['peak_rss_mib']:.0f} ({sp['imports_rss_mib']:.0f}) | "
            f"{'' if traced is None else f'{traced:.1f}'} | {dense_txt} | "
            f"{verdict} |")
    return head + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("results/model_scale.json"))
    parser.add_argument("--tiny", action="store_true", help="two small cases (smoke test)")
    parser.add_argument("--no-tracemalloc", action="store_true",
                        help="skip the second, traced subprocess per case")
    parser.add_argument("--baseline-tree", type=Path, default=None,
                        help="also measure the subrational_gym in this directory")
    parser.add_argument("--baseline-max-gib", type=float, default=2.0,
                        help="measure the baseline only where the dense matrix is this small")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure_in_child(json.loads(args.child))))
        return {}
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    load_before = os.getloadavg()
    baseline = args.baseline_tree.resolve() if args.baseline_tree else None
    rows = measure(TINY_CASES if args.tiny else CASES, trace=not args.no_tracemalloc,
                   baseline_tree=baseline, baseline_max_gib=args.baseline_max_gib)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    result = {
        "command": " ".join(["python -m benchmarks.model_scale",
                             *(sys.argv[1:] if argv is None else argv)]),
        "started_at": started, "commit": commit or None, "python": platform.python_version(),
        "cpus": os.cpu_count(),
        # 1-, 5- and 15-minute load averages: other work sharing the machine slows timings.
        "load_average_before": load_before, "load_average_after": os.getloadavg(),
        "baseline_tree": None if baseline is None else str(baseline),
        "targets": {"seconds": TARGET_SECONDS, "megabytes": TARGET_MB},
        "stack_notes_dense": STACK_NOTES_DENSE, "cases": rows,
    }
    table = markdown(rows)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    args.out.with_suffix(".md").write_text(table)
    return result


if __name__ == "__main__":
    main()
