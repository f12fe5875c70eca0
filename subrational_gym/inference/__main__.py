r"""Print the model comparison for saved demonstrations.

    python -m subrational_gym.inference DEMOS --env-id Subrational/Procrastination-v0 \
        --env-kwargs '{"self_imposed_deadline": true}'

DEMOS is a folder written by ``llm_experts.save_demonstrations`` (imitation's
``serialize`` format; reading it needs the ``imitation`` extra).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from subrational_gym.errors import SubrationalError
from subrational_gym.inference.counts import ActionCounts
from subrational_gym.inference.families import FAMILIES
from subrational_gym.inference.fitting import NESTINGS, compare


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m subrational_gym.inference",
        description="Fit every behavioural family of the game to saved demonstrations "
                    "and print them best first (BIC), with 95% profile-likelihood "
                    "intervals, Akaike weights, likelihood-ratio tests of the nested pairs "
                    "and what the data cannot tell apart.")
    parser.add_argument("demos", help="folder of demonstrations (imitation serialize format)")
    parser.add_argument("--env-id", required=True,
                        help="registered id, e.g. Subrational/Marshmallow-v0")
    parser.add_argument("--env-kwargs", default="{}",
                        help="JSON object of env arguments the demonstrations were collected "
                             "with, e.g. '{\"self_imposed_deadline\": true}'")
    parser.add_argument("--families", nargs="+", default=None,
                        help="families to fit (default: all of the game's)")
    parser.add_argument("--no-ci", action="store_true", help="skip the intervals (faster)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    try:
        env_kwargs = json.loads(args.env_kwargs)
    except json.JSONDecodeError as exc:
        parser.error(f"--env-kwargs is not valid JSON ({exc}): got {args.env_kwargs!r}; "
                     f"e.g. --env-kwargs '{{\"self_imposed_deadline\": true}}'")
    if not isinstance(env_kwargs, dict):
        parser.error(f"--env-kwargs must be a JSON object, got {args.env_kwargs!r}")
    try:
        from imitation.data import serialize
    except ImportError:  # pragma: no cover - depends on the installation
        print("reading demonstrations needs the imitation extra: "
              "pip install 'subrational-gym[imitation]'", file=sys.stderr)
        return 2
    try:
        trajectories = serialize.load(args.demos)
    except Exception as exc:  # noqa: BLE001 - datasets raises many types
        print(f"error: {args.demos!r} is not a demonstrations folder ({type(exc).__name__}: "
              f"{exc}); write one with llm_experts.save_demonstrations", file=sys.stderr)
        return 2
    try:
        counts = ActionCounts.from_trajectories(args.env_id, trajectories, env_kwargs=env_kwargs)
        table = compare(counts, args.families, ci=not args.no_ci)
    except SubrationalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    names = {f.family for f in table.fits}
    tests = [table.lr_test(r, g) for (r, g) in NESTINGS if r in names and g in names]
    if args.json:
        print(json.dumps({**table.to_dict(), "lr_tests": [t.to_dict() for t in tests]},
                         indent=2))
        return 0
    print(table.table())
    for t in tests:
        print(f"LR test {t.restricted} in {t.general}: statistic {t.statistic:.2f}, "
              f"p = {t.p_value:.3g} ({t.method})"
              + ("" if t.exact_nesting else f"; null = {t.general} at {t.pinned}"))
    print(f"families of {counts.game.game}: {', '.join(FAMILIES[counts.game.game])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
