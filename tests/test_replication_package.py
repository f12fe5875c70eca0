"""The replication package's parts without a run: the records' JSON shape, the verdict over
seeds, the budgets, and the command line's exit statuses (the runs themselves are in
tests/test_replicate.py and tests/test_replicate_embedded.py)."""

from __future__ import annotations

import socket

import pytest

# The replication needs the imitation and llm extras (``subrational_gym.learners`` itself
# imports its modules on first use, so importing it tells nothing).
pytest.importorskip("imitation")
pytest.importorskip("openai")

from benchmarks import replicate, sweep  # noqa: E402
from benchmarks.replication import cli, config  # noqa: E402
from benchmarks.replication.findings import source_verdict  # noqa: E402
from benchmarks.replication.records import (  # noqa: E402
    Baselines,
    LearnerResult,
    LearnerRun,
    PersonaRecord,
    RLBaseline,
    RunRecords,
    Tabulation,
    VariantRecord,
)
from subrational_gym.hypotheses import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED  # noqa: E402
from subrational_gym.learners.sweeps import SweepError  # noqa: E402
from subrational_gym.studies import STUDIES  # noqa: E402
from subrational_gym.verdicts import Verdict  # noqa: E402


def _tabulation() -> Tabulation:
    return Tabulation(seconds=1.5, model_calls=11, cache_hits=0, decision_states=11,
                      invalid_states=({"state": 3},), coverage={"min": 0.9},
                      order_effect={"mean": 0.1}, degradations=("no logprobs",))


def test_records_keep_the_json_shape_the_report_reads():
    """``[game][variant]["personas"][p]["learners"][alg]["summary"]``, keys in the order
    they were written before the records were typed; a persona without an expert has
    ``error`` and neither ``expert`` nor ``learners``; RL baselines sit beside
    ``value_iteration`` and ``references``."""
    run = LearnerRun(seed=0, tv_mean=0.1, tv_max=0.3, train_seconds=2.0, key_metric=None,
                     budget=30, job="abc", reused=False)
    learner = LearnerResult(runs=(run,), tv_mean={"iqm": 0.1}, key_metric={"iqm": None},
                            summary={"accept": 0.5})
    records = RunRecords()
    rec = records.add("ultimatum", "plain", VariantRecord("Subrational/Ultimatum-v0", {}))
    rec.personas["fairness"] = PersonaRecord("fairness", {"kind": "fair"}, _tabulation(),
                                             expert={"accept": 0.4},
                                             learners={"bc": learner})
    rec.personas["income"] = PersonaRecord("income", {}, _tabulation(), error="no answer")
    rec.baselines = Baselines(
        value_iteration={"0.99": {"accept": 1.0}},
        rl={"ppo": RLBaseline(gamma=0.99, seed=0, budget=512, train_seconds=3.0,
                              summary={"accept": 0.9}, job="def", reused=True)},
        references={"income maximiser": {"accept": 1.0}})
    out = records.to_dict()
    plain = out["ultimatum"]["plain"]
    assert list(plain) == ["env_id", "env_kwargs", "personas", "baselines"]
    fair = plain["personas"]["fairness"]
    assert list(fair) == ["persona", "attributes", "tabulation", "expert", "learners"]
    assert fair["learners"]["bc"]["summary"] == {"accept": 0.5}
    assert fair["learners"]["bc"]["runs"][0] == {
        "seed": 0, "tv_mean": 0.1, "tv_max": 0.3, "train_seconds": 2.0, "key_metric": None,
        "budget": 30, "job": "abc", "reused": False}
    assert list(fair["tabulation"]) == ["seconds", "model_calls", "cache_hits",
                                        "decision_states", "invalid_states", "coverage",
                                        "order_effect", "degradations"]
    assert fair["tabulation"]["invalid_states"] == [{"state": 3}]
    assert list(plain["personas"]["income"]) == ["persona", "attributes", "tabulation",
                                                 "error"]
    assert list(plain["baselines"]) == ["value_iteration", "ppo", "references"]
    assert plain["baselines"]["ppo"]["reused"] is True
    assert records.summaries("ultimatum", "plain", "llm_expert") == {
        "fairness": {"accept": 0.4}}
    assert records.summaries("ultimatum", "plain", "bc") == {"fairness": {"accept": 0.5}}
    assert records.persona("ultimatum", "plain", "nobody") is None
    assert records.persona("marshmallow", "plain", "fairness") is None


def _verdict(verdict: str, value: float) -> Verdict:
    return Verdict(game="ultimatum", hypothesis="h", verdict=verdict, statistic="s",
                   value=value, interval=(value - 0.1, value + 0.1), threshold=0.0,
                   sesoi=0.2, bottom_line=f"{verdict}: because {value}", reasons=["r"])


def test_a_learner_verdict_is_the_one_most_seeds_get_and_a_tie_is_inconclusive():
    study = STUDIES["ultimatum"]
    most = source_verdict(study, {"bc@0": _verdict(REPRODUCED, 0.5),
                                  "bc@1": _verdict(NOT_REPRODUCED, 0.0),
                                  "bc@2": _verdict(REPRODUCED, 0.4)})
    assert most.reproduced == REPRODUCED
    assert most.bottom_line.startswith("reproduced in 2 of 3 seeds")
    assert set(most.numbers["seeds"]) == {"0", "1", "2"}
    assert most.numbers["share"] == {REPRODUCED: 2 / 3, NOT_REPRODUCED: 1 / 3}
    tie = source_verdict(study, {"bc@0": _verdict(REPRODUCED, 0.5),
                                 "bc@1": _verdict(NOT_REPRODUCED, 0.0)})
    assert tie.reproduced == INCONCLUSIVE
    one = source_verdict(study, {"llm_expert": _verdict(NOT_REPRODUCED, 0.0)})
    assert one.reproduced == NOT_REPRODUCED and one.numbers["value"] == 0.0
    assert one.to_dict() == {"reproduced": NOT_REPRODUCED, "numbers": dict(one.numbers),
                             "bottom_line": "not reproduced: because 0.0"}
    missing = source_verdict(study, {"bc@0": "no choices for persona 'income'"})
    assert missing.reproduced == "not checked" and "income" in missing.bottom_line
    assert source_verdict(study, {}).reproduced == "not checked"


def test_budget_restrict_keeps_the_few_seed_rule_and_drops_untrained_sources():
    demo = config.BUDGETS["demo"]
    budget = demo.restrict(learners=["bc", "ppo"], seeds=[3, 4])
    assert budget.seeds_of("bc") == (3,)  # no named seed is a few seed: the first one
    assert budget.seeds_of("ppo") == (3,) and budget.seeds_of("gail") == ()
    assert budget.hypothesis_sources == ("llm_expert",)
    with pytest.raises(SweepError, match="unknown learners"):
        demo.restrict(learners=["gial"])


def test_ctrl_c_names_the_runs_own_jobs_folder(monkeypatch, tmp_path, capsys):
    """The message named results/jobs whatever --out and --jobs-dir were."""
    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(replicate.Replication, "run", interrupted)
    assert cli.cli(["--games", "ultimatum", "--out", str(tmp_path / "mine")]) == 130
    assert f"kept in {tmp_path / 'mine' / 'jobs'} and" in capsys.readouterr().err
    assert cli.cli(["--out", str(tmp_path), "--jobs-dir", str(tmp_path / "j")]) == 130
    assert f"kept in {tmp_path / 'j'} and" in capsys.readouterr().err


def test_sweep_names_an_unreachable_endpoint_in_one_line(tmp_path, capsys, monkeypatch):
    """The pre-flight's refusal ends the sweep with one line and status 2, before any job."""
    for name in ("OPENAI_BASE_URL", "SUBRATIONAL_LLM_PREFLIGHT", "SUBRATIONAL_LLM_PROVIDER"):
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    status = sweep.cli(["--games", "ultimatum", "--budget", "tiny", "--learners", "bc",
                        "--model", f"x@{url}", "--out", str(tmp_path / "sweep")])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1, err
    assert err[0].startswith("error: ") and url in err[0]
    assert not (tmp_path / "sweep" / "jobs").exists()
