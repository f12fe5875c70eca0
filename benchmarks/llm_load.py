"""Load test: score thousands of prompts concurrently against the local (or configured) server.

Reports throughput (states/s), errors, retries and invalid answers, then verifies that
nothing was lost: every model call left exactly one row in the answer cache, and a second
pass over the same prompts is answered entirely from the cache (zero model calls).

Usage:
    python benchmarks/llm_load.py --n-states 2000 --concurrency 4

Writes ``results/llm_load.json`` (``--out`` to change it). Seeds: prompts are deterministic
(ultimatum offers over a grid of pies and names); scoring is greedy log-probabilities.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from llm_experts.cache import AnswerCache
from llm_experts.client import LLMClient, ScoreResult
from llm_experts.errors import ModelCallError
from llm_experts.personas import PRESETS
from llm_experts.prompts import build_prompt

NAMES = ("Jerry", "Alex", "Sam", "Robin", "Kim", "Lee", "Max", "Noa")
LABELS = ("reject", "accept")


def make_prompts(n: int) -> list[str]:
    """``n`` distinct completion prompts (ultimatum offers, varied pie, offer and name)."""
    prompts = []
    i = 0
    while len(prompts) < n:
        pie = 10 + (i // (len(NAMES) * 21)) * 5
        offer = i % 21 * pie // 20
        name = NAMES[(i // 21) % len(NAMES)]
        persona = PRESETS["fairness" if i % 2 else "income"]
        persona = type(persona)(persona.name, persona.traits, character=name, game="ultimatum")
        desc = (
            f"The proposer has ${pie} to split between the two of you and offers you ${offer}, "
            f"keeping ${pie - offer}. If you reject, you both get nothing."
        )
        prompt = build_prompt(persona, "ultimatum", desc, LABELS).text
        if prompt not in prompts[-50:]:
            prompts.append(prompt)
        i += 1
    return prompts


def run_pass(client: LLMClient, prompts: list[str], concurrency: int) -> dict:
    errors: list[str] = []
    results: list[ScoreResult | None] = []
    before = client.usage
    started = time.monotonic()

    def one(prompt: str) -> ScoreResult | None:
        try:
            return client.score(prompt, LABELS, prompt_version="llm_load-1")
        except ModelCallError as exc:
            errors.append(str(exc))
            return None

    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(one, prompts))
    seconds = time.monotonic() - started
    usage = client.usage - before
    return {
        "states": len(prompts),
        "seconds": round(seconds, 3),
        "states_per_second": round(len(prompts) / seconds, 3) if seconds else None,
        "seconds_per_state": round(seconds / len(prompts), 4),
        "valid": sum(r is not None and r.valid for r in results),
        "invalid": sum(r is not None and not r.valid for r in results),
        "errors": len(errors),
        "first_errors": errors[:3],
        "model_calls": usage.model_calls,
        "cache_hits": usage.cache_hits,
        "retries": usage.retries,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-states", type=int, default=2000, help="prompts to score")
    parser.add_argument("--concurrency", type=int, default=4, help="parallel requests")
    parser.add_argument("--out", type=Path, default=Path("results") / "llm_load.json")
    parser.add_argument("--cache", type=Path, default=None, help="cache file (default: fresh)")
    args = parser.parse_args(argv)
    if args.n_states < 1 or args.concurrency < 1:
        parser.error("--n-states and --concurrency must be >= 1")
    prompts = make_prompts(args.n_states)
    with tempfile.TemporaryDirectory() as tmp:
        cache_path = args.cache or Path(tmp) / "llm_load.sqlite"
        cache = AnswerCache(cache_path)
        rows_before = len(cache)
        started = time.monotonic()
        client = LLMClient(cache=cache)
        startup = time.monotonic() - started
        cold = run_pass(client, prompts, args.concurrency)
        rows = len(cache) - rows_before
        warm = run_pass(LLMClient(cache=cache), prompts, args.concurrency)
        integrity = cache.integrity_check()
        cache.close()
    report = {
        "benchmark": "llm_load",
        "model": client.model,
        "endpoint": client.endpoint_id,
        "n_states": args.n_states,
        "concurrency": args.concurrency,
        "threads": os.environ.get("OMP_NUM_THREADS"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "server_startup_seconds": round(startup, 3),
        # Peak resident memory of this process, the in-process model server included.
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cold": cold,
        "warm_from_cache": warm,
        "verification": {
            "cache_rows_added": rows,
            "each_call_stored_once": rows == cold["model_calls"],
            "second_pass_model_calls": warm["model_calls"],
            "nothing_lost": rows == cold["model_calls"] and warm["model_calls"] == 0,
            "integrity_check": integrity,
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(
        f"{args.n_states} states, concurrency {args.concurrency}: "
        f"cold {cold['states_per_second']} states/s ({cold['seconds_per_state']} s/state, "
        f"{cold['model_calls']} calls, {cold['retries']} retries, {cold['errors']} errors, "
        f"{cold['invalid']} invalid); warm {warm['states_per_second']} states/s "
        f"({warm['model_calls']} calls); nothing lost: {report['verification']['nothing_lost']}"
    )
    print(f"wrote {args.out}")
    return report


if __name__ == "__main__":
    main()
