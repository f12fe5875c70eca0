"""LLMExpert: a persona played by a language model, as a tabular policy of a subrational game.

The expert asks the model for an action distribution in every decision state of the game's
tabular model (all at once with :meth:`LLMExpert.tabulate`, or on demand) and then behaves
like every other :class:`subrational_gym.policies.TabularPolicy`: imitation's ``rollout``
calls it, stable-baselines3's ``evaluate_policy`` calls its ``predict``, and evaluation reads
its ``probs`` once tabulated (reading ``probs`` never calls the model: rows not answered yet
are NaN). Non-decision states get a uniform row without a model call. A state with no valid
answer is recorded and raises :class:`~llm_experts.errors.InvalidStateError` when a rollout
reaches it (or from :meth:`LLMExpert.complete_table`); it is never mapped to an action.

What the expert does is one :class:`ExpertConfig` record; where the model is served is one
:class:`~llm_experts.endpoint.EndpointConfig`.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
import time
from collections.abc import Mapping
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from llm_experts.cache import AnswerCache, ProvenanceLog
from llm_experts.client import LLMClient, Usage
from llm_experts.cost import CallPlan, plan_calls
from llm_experts.endpoint import EndpointConfig
from llm_experts.errors import ConfigurationError, EndpointLimitError, InvalidStateError
from llm_experts.personas import Persona, get_persona
from llm_experts.prompts import LETTERS, STYLES, Prompt, build_prompt, label_orders
from llm_experts.scorer import ScoreSettings
from llm_experts.scoring import DEFAULT_MIN_COVERAGE
from llm_experts.server import default_cache_dir
from subrational_gym import make_env
from subrational_gym.policies import TabularPolicy

__all__ = ["ExpertConfig", "InvalidState", "LLMExpert", "TabulationReport"]

MODES = ("score", "sample")


@dataclass(frozen=True)
class InvalidState:
    """A decision state for which the model gave no valid answer.

    Attributes:
        state: Index in the tabular model.
        description: The state's description.
        error: Why the answer is invalid.
        coverage: Share of the probability mass the labels got (score mode; the lowest over
            the label orders), else None.
    """

    state: int
    description: str
    error: str
    coverage: float | None = None


@dataclass(frozen=True)
class TabulationReport:
    """Outcome of :meth:`LLMExpert.tabulate`.

    Attributes:
        n_states: States of the game.
        n_decision_states: States where the action matters (the ones asked).
        tabulated: Decision states with a valid distribution.
        invalid: Decision states without one.
        usage: Model use during this tabulation.
        seconds: Wall-clock time.
        coverage: Labels' share of the probability mass per decision state asked (score
            mode; the lowest over the label orders), valid or not.
        order_effect: Per decision state with a valid answer in every order: total variation
            between the distributions of the label orders (0 = no position bias).
        min_coverage: The coverage a valid state needs.
        orders: Label orders asked per state (2 when counterbalancing).
    """

    n_states: int
    n_decision_states: int
    tabulated: int
    invalid: tuple[InvalidState, ...]
    usage: Usage
    seconds: float
    coverage: Mapping[int, float] = dataclasses.field(default_factory=dict)
    order_effect: Mapping[int, float] = dataclasses.field(default_factory=dict)
    min_coverage: float = DEFAULT_MIN_COVERAGE
    orders: int = 1

    @property
    def complete(self) -> bool:
        """Whether every decision state has a valid distribution."""
        return not self.invalid and self.tabulated == self.n_decision_states

    def coverage_summary(self) -> dict[str, Any]:
        """Distribution of the labels' coverage over the decision states (score mode).

        Returns:
            ``n``, ``min``, ``q10``, ``median``, ``max``, ``below`` (states under
            ``min_coverage``) and the ``threshold``; empty in sample mode.
        """
        values = np.array(list(self.coverage.values()), dtype=float)
        if values.size == 0:
            return {}
        return {"n": int(values.size), "min": float(values.min()),
                "q10": float(np.quantile(values, 0.1)), "median": float(np.median(values)),
                "max": float(values.max()), "below": int((values < self.min_coverage).sum()),
                "threshold": self.min_coverage}

    def order_effect_summary(self) -> dict[str, Any]:
        """Mean and largest total variation between label orders; empty with one order."""
        values = np.array(list(self.order_effect.values()), dtype=float)
        if values.size == 0:
            return {}
        return {"n": int(values.size), "mean": float(values.mean()), "max": float(values.max())}

    @property
    def calls_per_state(self) -> float:
        """Model calls per decision state in this tabulation (0 when all were cached)."""
        return self.usage.model_calls / max(self.n_decision_states, 1)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no per-state tables)."""
        return {"decision_states": self.n_decision_states, "tabulated": self.tabulated,
                "invalid": len(self.invalid), "seconds": self.seconds,
                "usage": self.usage.to_dict(), "calls_per_state": self.calls_per_state,
                "orders": self.orders, "coverage": self.coverage_summary(),
                "order_effect": self.order_effect_summary()}


@dataclass(frozen=True)
class ExpertConfig:
    """How an :class:`LLMExpert` asks its model, and where the answers are kept.

    Attributes:
        mode: ``"score"`` reads label probabilities; ``"sample"`` counts ``n_samples``
            answers.
        prompt_style: ``"completion"``, ``"cot"`` (sample mode), ``"chat"`` or ``"choice"``
            (lettered forced choice for chat models); default the provider's (``choice``
            for OpenAI, else ``completion``).
        counterbalance: Ask every state with the labels in both orders and average them, so
            position bias cancels (twice the prompts; one order with False).
        min_coverage: Least share of the probability mass the labels must get for a state to
            be valid in score mode; below it the state is invalid, with its coverage reported.
        top_logprobs: Alternatives read per token in score mode.
        n_samples: Answers per state in sample mode.
        temperature: Sampling temperature in sample mode.
        max_reasks: Re-asks per invalid answer in sample mode.
        seed: Seeds sampling requests and the generator that draws rollout actions.
        concurrency: Parallel requests in :meth:`LLMExpert.tabulate`; default 4, or 1 with
            the deterministic embedded server (one slot: more would only queue).
        max_calls: Most model calls of the expert's client (None: no limit); tabulating past
            it raises :class:`~llm_experts.errors.CallBudgetError` with every answer so far
            cached, so a rerun with a higher limit resumes without repeating a call.
        cache_path: SQLite answer cache; default ``<cache dir>/llm_answers.sqlite``.
        provenance_path: JSONL provenance log; default next to the cache.
        use_cache: False disables the cache (every answer is asked afresh).
        progress: Show a progress bar while tabulating.

    Raises:
        ConfigurationError: An unknown mode or style, or a value out of range.
    """

    mode: str = "score"
    prompt_style: str | None = None
    counterbalance: bool = True
    min_coverage: float = DEFAULT_MIN_COVERAGE
    top_logprobs: int = 100
    n_samples: int = 10
    temperature: float = 1.0
    max_reasks: int = 2
    seed: int = 0
    concurrency: int | None = None
    max_calls: int | None = None
    cache_path: str | os.PathLike[str] | None = None
    provenance_path: str | os.PathLike[str] | None = None
    use_cache: bool = True
    progress: bool = True

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigurationError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.prompt_style is not None and self.prompt_style not in STYLES:
            raise ConfigurationError(
                f"prompt_style must be one of {STYLES}, got {self.prompt_style!r}")
        if self.prompt_style == "cot" and self.mode != "sample":
            raise ConfigurationError("prompt_style='cot' needs mode='sample'")
        if self.concurrency is not None and (not isinstance(self.concurrency, int)
                                             or self.concurrency < 1):
            raise ConfigurationError(
                f"concurrency must be an integer >= 1, got {self.concurrency!r}")
        if not isinstance(self.n_samples, int) or self.n_samples < 1:
            raise ConfigurationError(
                f"n_samples must be an integer >= 1, got {self.n_samples!r}")
        if not 0.0 <= self.min_coverage <= 1.0:
            raise ConfigurationError(
                f"min_coverage must be in [0, 1], got {self.min_coverage}; 0.5 is the default")
        if self.max_reasks < 0:
            raise ConfigurationError(f"max_reasks must be >= 0, got {self.max_reasks}")

    def make_client(self, endpoint: EndpointConfig | None = None) -> LLMClient:
        """A client for ``endpoint`` with this config's cache, provenance log and budget."""
        cache = provenance = None
        if self.use_cache:
            path = (Path(self.cache_path) if self.cache_path
                    else default_cache_dir() / "llm_answers.sqlite")
            cache = AnswerCache(path)
            provenance = ProvenanceLog(self.provenance_path
                                       or path.with_name(path.stem + ".provenance.jsonl"))
        elif self.provenance_path:
            provenance = ProvenanceLog(self.provenance_path)
        return LLMClient(endpoint, scoring=ScoreSettings(top_logprobs=self.top_logprobs,
                                                         min_coverage=self.min_coverage),
                         cache=cache, provenance=provenance, max_calls=self.max_calls)


class LLMExpert(TabularPolicy):
    """A persona played by a language model, acting in a Subrational game.

    Its table fills in as the model answers. ``probs`` is a plain attribute, a read-only view
    of that table: rows of decision states not asked yet (or without a valid answer) are NaN
    and no model call is made by reading it. :meth:`tabulate` asks every state not yet
    answered; :meth:`complete_table` tabulates and returns the whole table, raising for a
    state without a valid answer; :meth:`action_distribution` (what rollouts, ``predict``
    and ``sample`` use) asks the states it meets on demand.

    Args:
        env: A registered id (``"Subrational/Ultimatum-v0"``), a game name or an env.
        persona: A preset name (see :mod:`llm_experts.personas`) or a :class:`Persona`.
        env_kwargs: Constructor arguments when ``env`` is an id.
        config: How the model is asked and where answers are kept (default
            :class:`ExpertConfig`'s defaults).
        endpoint: Where the model is served: base URL, model name, API key, provider,
            timeout, retries (default: ``$OPENAI_BASE_URL`` and ``$SUBRATIONAL_LLM_MODEL``,
            else the embedded Gemma 3 270M). A remote endpoint is checked before any work.
        client: Use this client instead of building one (then ``endpoint`` must be None and
            the config's cache, top_logprobs and min_coverage are the client's business; its
            ``max_calls``, if set, is applied to the client).

    Raises:
        ConfigurationError: Unknown persona, or both ``endpoint`` and ``client``.
        EndpointUnreachableError: The endpoint failed its pre-flight check.

    Example:
        >>> from llm_experts.testing import FakeLLMServer
        >>> with FakeLLMServer() as server:
        ...     expert = LLMExpert("Subrational/Ultimatum-v0", "fairness",
        ...                        endpoint=EndpointConfig(base_url=server.base_url,
        ...                                                model="fake"),
        ...                        config=ExpertConfig(use_cache=False, progress=False))
        ...     report = expert.tabulate()
        >>> report.complete, bool(np.isnan(expert.probs).any())
        (True, False)
    """

    def __init__(
        self,
        env: Any,
        persona: str | Persona,
        *,
        env_kwargs: Mapping[str, Any] | None = None,
        config: ExpertConfig | None = None,
        endpoint: EndpointConfig | None = None,
        client: LLMClient | None = None,
    ) -> None:
        config = config or ExpertConfig()
        if env_kwargs and not isinstance(env, str):
            raise ConfigurationError("env_kwargs is only allowed with an env id; got an env")
        if client is not None and endpoint is not None:
            raise ConfigurationError("pass endpoint= or client=, not both (the client has its "
                                     "endpoint)")
        self.env = make_env(env, **dict(env_kwargs or {}))
        self.game = self.env.game
        self.persona = get_persona(persona, game=self.game)
        model_ = self.env.tabular_model()
        n, k = model_.n_states, model_.n_actions
        super().__init__(model_, np.full((n, k), 1.0 / k), seed=config.seed,
                         name=f"llm:{self.persona.name}",
                         params={"persona": self.persona.name, "mode": config.mode})
        if client is None:
            client = config.make_client(endpoint)
        elif config.max_calls is not None:
            client.max_calls = config.max_calls
        self.config = config
        self.client = client
        self.concurrency = config.concurrency or (1 if client.slots == 1 else 4)
        # Mode and style may change once if the endpoint refuses them (see _switch).
        self.mode = config.mode
        style = config.prompt_style or client.profile.default_style
        self.prompt_style = "completion" if style == "cot" and config.mode != "sample" else style
        self.params.update(model=client.model, style=self.prompt_style,
                           provider=client.profile.name, counterbalance=config.counterbalance)
        # NaN rows are decision states not answered yet; non-decision states are uniform.
        self._table = np.full((n, k), np.nan)
        self._table[~model_.decision_mask] = 1.0 / k
        self.probs = self._table.view()
        self.probs.setflags(write=False)
        self._invalid: dict[int, InvalidState] = {}
        self._coverage: dict[int, float] = {}
        self._order_effect: dict[int, float] = {}
        self._lock = threading.Lock()

    def complete_table(self) -> np.ndarray:
        """Tabulate every state not yet answered, then return the whole table (a copy).

        Raises:
            InvalidStateError: Some decision state has no valid answer.
            ModelCallError: A request failed after the last retry.
        """
        self.tabulate()
        self._raise_if_invalid(self._invalid)
        return self.table

    @property
    def usage(self) -> Usage:
        """Model calls, cache hits, tokens, retries and invalid answers so far."""
        return self.client.usage

    @property
    def invalid_states(self) -> tuple[InvalidState, ...]:
        """Decision states asked so far without a valid answer."""
        with self._lock:
            return tuple(self._invalid[s] for s in sorted(self._invalid))

    @property
    def table(self) -> np.ndarray:
        """Distributions known so far (NaN rows: not asked yet or invalid); no model calls."""
        with self._lock:
            return self._table.copy()

    def orders(self, state: int) -> list[tuple[int, ...]]:
        """The label orders asked for ``state``: both when counterbalancing."""
        return label_orders(len(self.model.action_labels[state]), self.config.counterbalance)

    def prompt_for(self, state: int, order: tuple[int, ...] | None = None) -> Prompt:
        """The prompt asked for ``state`` (an index of the tabular model), labels in ``order``."""
        m = self.model
        return build_prompt(
            self.persona,
            self.game,
            m.descriptions[state],
            m.action_labels[state],
            style=self.prompt_style,
            order=order,
        )

    def prompts_for(self, state: int) -> list[Prompt]:
        """Every prompt asked for ``state``: one per label order."""
        return [self.prompt_for(state, order) for order in self.orders(state)]

    def plan(self, *, price_per_million_input: float | None = None,
             price_per_million_output: float | None = None) -> CallPlan:
        """Estimate what tabulating the states not yet answered will cost, without calls.

        Requests whose answers are already in the cache are not counted.
        """
        pending = self._pending()
        return plan_calls(self, pending, price_per_million_input=price_per_million_input,
                          price_per_million_output=price_per_million_output)

    def _switch(self, used_mode: str, used_style: str, error: EndpointLimitError) -> bool:
        """Another prompt style or mode after the endpoint refused this one; once each."""
        with self._lock:
            if (self.mode, self.prompt_style) != (used_mode, used_style):
                return True  # another thread switched already
            if error.reason == "no-completions" and used_style in ("completion", "cot"):
                target = ("mode", used_mode, "choice")
            elif error.reason == "no-chat" and used_style in ("chat", "choice"):
                target = ("mode", used_mode, "completion")
            elif error.reason == "no-logprobs" and used_mode == "score":
                target = ("mode", "sample", used_style)
            else:
                return False
            what = (f"prompt style {used_style} -> {target[2]}" if target[2] != used_style
                    else f"mode {used_mode} -> {target[1]}")
            if not self.client.degrade(f"switch:{what}", what, error):
                return False
            self.mode, self.prompt_style = target[1], target[2]
            self.params.update(mode=self.mode, style=self.prompt_style)
            return True

    def _ask(self, state: int) -> None:
        while True:
            mode, style = self.mode, self.prompt_style
            try:
                self._ask_once(state)
                return
            except EndpointLimitError as error:
                if not self._switch(mode, style, error):
                    raise

    def _ask_once(self, state: int) -> None:
        labels = self.model.action_labels[state]
        prompts = self.prompts_for(state)
        k = len(labels)
        coverage: float | None = None
        order_effect: float | None = None
        if self.mode == "score":
            # The choice style scores the letters in listed order; map them back to actions.
            scored_on = tuple(LETTERS[:k]) if prompts[0].options else tuple(labels)
            results = self.client.score_orders(
                [p.payload for p in prompts], scored_on, persona=self.persona.name,
                prompt_version=prompts[0].version, min_coverage=self.config.min_coverage)
            coverage = min(r.coverage for r in results)
            bad = next((r for r in results if not r.valid), None)
            if bad is not None:
                probs, error = None, bad.error
            else:
                rows = []
                for prompt, result in zip(prompts, results, strict=True):
                    assert result.probs is not None
                    row = np.zeros(k)
                    if prompt.options:
                        for pos, action in enumerate(prompt.order):
                            row[action] = result.probs[pos]
                    else:
                        row[:] = result.probs
                    rows.append(row)
                if len(rows) > 1:
                    order_effect = float(0.5 * np.abs(rows[0] - rows[1]).sum())
                probs, error = tuple(np.mean(rows, axis=0)), None
        else:
            per_order = max(1, self.config.n_samples // len(prompts))
            counts = np.zeros(k)
            errors: list[str] = []
            for index, prompt in enumerate(prompts):
                sample_on = tuple(LETTERS[:k]) if prompt.options else tuple(labels)
                sampled = self.client.sample_labels(
                    prompt.payload,
                    sample_on,
                    n=per_order,
                    temperature=self.config.temperature,
                    seed=self.config.seed * 1_000_003 + state + 500_009 * index,
                    max_tokens=160 if self.prompt_style == "cot" else 16,
                    max_reasks=self.config.max_reasks,
                    constrain=False if self.prompt_style == "cot" else None,
                    persona=self.persona.name,
                    prompt_version=prompt.version,
                )
                for pos, count in enumerate(sampled.counts):
                    counts[prompt.order[pos] if prompt.options else pos] += count
                errors.extend(sampled.errors)
            probs = tuple(counts / counts.sum()) if counts.sum() else None
            error = (
                None
                if probs
                else f"no valid answer among {per_order * len(prompts)}: "
                + ("; ".join(sorted(set(errors))) or "empty")
            )
        with self._lock:
            if coverage is not None:
                self._coverage[state] = coverage
            if order_effect is not None:
                self._order_effect[state] = order_effect
            if probs is None:
                self._invalid[state] = InvalidState(
                    state, self.model.descriptions[state], error or "invalid", coverage
                )
            else:
                self._table[state] = probs
                self._invalid.pop(state, None)

    def _pending(self, states: np.ndarray | None = None) -> list[int]:
        with self._lock:
            candidates = range(self.model.n_states) if states is None else np.unique(states)
            return [
                int(s)
                for s in candidates
                if np.isnan(self._table[s, 0]) and int(s) not in self._invalid
            ]

    def tabulate(self, *, retry_invalid: bool = False) -> TabulationReport:
        """Ask the model for every decision state not yet answered, concurrently.

        Answers are cached as they arrive, so an interrupted tabulation resumes where it
        stopped. Afterwards rollouts make no model calls.

        Args:
            retry_invalid: Ask again the states that had no valid answer.

        Returns:
            A :class:`TabulationReport`; invalid states are listed, not raised.

        Raises:
            ModelCallError: A request failed after the last retry.
            CallBudgetError: ``max_calls`` was reached; what was answered is cached.
        """
        if retry_invalid:
            with self._lock:
                self._invalid.clear()
        started, before = time.monotonic(), self.usage
        pending = self._pending()
        if pending:
            from tqdm.auto import tqdm

            bar = tqdm(
                total=len(pending),
                desc=f"{self.persona.name} on {self.game}",
                unit="state",
                # A bar only on a terminal: in a file or a pipe (make demo > demo.log) its
                # carriage returns and escape codes would pile up as lines.
                disable=not (self.config.progress and sys.stderr.isatty()),
            )
            with ThreadPoolExecutor(self.concurrency, thread_name_prefix="llm-expert") as pool:
                futures = [pool.submit(self._ask, s) for s in pending]
                for future in futures:
                    future.add_done_callback(lambda _: bar.update())
                done, not_done = wait(futures, return_when=FIRST_EXCEPTION)
                for future in not_done:
                    future.cancel()
                bar.close()
                for future in done:
                    future.result()  # re-raise the first failure
        decision = int(self.model.decision_mask.sum())
        with self._lock:
            tabulated = int((~np.isnan(self._table[self.model.decision_mask, 0])).sum())
            coverage = dict(sorted(self._coverage.items()))
            order_effect = dict(sorted(self._order_effect.items()))
        return TabulationReport(
            n_states=self.model.n_states,
            n_decision_states=decision,
            tabulated=tabulated,
            invalid=self.invalid_states,
            usage=self.usage - before,
            seconds=time.monotonic() - started,
            coverage=coverage,
            order_effect=order_effect,
            min_coverage=self.config.min_coverage,
            orders=2 if self.config.counterbalance else 1,
        )

    def _raise_if_invalid(self, invalid: Mapping[int, InvalidState]) -> None:
        if not invalid:
            return
        first = invalid[min(invalid)]
        raise InvalidStateError(
            f"{len(invalid)} decision state(s) of {self.model.env_id} have no valid answer from "
            f"{self.client.model!r} (persona {self.persona.name!r}); first: state {first.state} "
            f"({first.description!r}): {first.error}. Fix: ExpertConfig(top_logprobs=...) "
            "higher, mode='sample' or prompt_style='choice', another model, or "
            "expert.tabulate(retry_invalid=True)"
        )

    def action_distribution(self, observations: np.ndarray) -> np.ndarray:
        """Action probabilities, one row per observation, asking the model where needed.

        Raises:
            InvalidStateError: An observation is a state without a valid answer.
        """
        obs = np.asarray(observations, dtype=np.float32)
        indices = self.model.state_indices(obs.reshape(-1, obs.shape[-1]))
        for state in self._pending(indices):
            self._ask(state)
        with self._lock:
            bad = {int(s): self._invalid[int(s)] for s in indices if int(s) in self._invalid}
            rows = self._table[indices].copy()
        self._raise_if_invalid(bad)
        return rows

    def __repr__(self) -> str:
        return (
            f"LLMExpert({self.model.env_id}, persona={self.persona.name!r}, "
            f"model={self.client.model!r}, mode={self.mode!r}, style={self.prompt_style!r})"
        )
