"""Smoke tests of benchmarks/model_scale.py with a tiny budget."""

from __future__ import annotations

import json

import numpy as np

from benchmarks import model_scale


def test_model_scale_smoke(tmp_path):
    out = tmp_path / "scale.json"
    result = model_scale.main(["--tiny", "--out", str(out)])
    saved = json.loads(out.read_text())
    assert [row["case"] for row in saved["cases"]] == [c[0] for c in model_scale.TINY_CASES]
    for row in result["cases"]:
        sparse = row["sparse"]
        assert "error" not in sparse, sparse
        assert sparse["code"] == str(model_scale.ROOT / "subrational_gym")
        assert sparse["n_states"] > 0 and sparse["build_and_solve_s"] > 0
        assert sparse["peak_rss_mib"] >= sparse["imports_rss_mib"] > 0
        assert sparse["tracemalloc_peak_mib"] > 0
        assert row["meets_target"]
    assert out.with_suffix(".md").read_text().startswith("| case |")


def test_model_scale_memory_is_the_childs_own():
    """A large parent does not inflate a case's peak memory (ru_maxrss after fork would)."""
    ballast = np.ones(400 * 2**20 // 8)  # 400 MiB resident in this process
    row = model_scale.run_case(model_scale.ROOT, "Subrational/Marshmallow-v0",
                               {"wait_minutes": 20}, trace=False, extras=False)
    assert ballast[-1] == 1.0
    assert 0 < row["imports_rss_mib"] <= row["peak_rss_mib"] < 200, row
