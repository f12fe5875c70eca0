"""Smoke tests of the core benchmark scripts with a tiny budget."""

from __future__ import annotations

import json

from benchmarks import env_speed, reference_policies


def test_env_speed_smoke(tmp_path):
    out = tmp_path / "speed.json"
    result = env_speed.main(["--steps", "200", "--out", str(out)])
    assert set(result) == set(env_speed.ENVS)
    assert all(row["steps_per_second"] > 0 for row in result.values())
    assert json.loads(out.read_text())["steps"] == 200


def test_reference_policies_smoke(tmp_path):
    out = tmp_path / "ref.json"
    records = reference_policies.main(["--out", str(out)])
    assert len(records) == len(json.loads(out.read_text())) >= 10
    soph = [r for r in records if r["policy"].startswith("beta-delta sophisticated")]
    assert soph[0]["behaviour"]["commit_probability"] == 1.0
