"""LLMExpert: a persona played by a language model, as a tabular policy of a subrational game.

The expert asks the model for an action distribution in every decision state of the game's
tabular model (all at once with :meth:`LLMExpert.tabulate`, or on demand) and then behaves
like every other :class:`subrational_gym.policies.TabularPolicy`: imitation's ``rollout``
calls it, stable-baselines3's ``evaluate_policy`` calls its ``predict``, and evaluation reads
its ``probs``. Non-decision states get a uniform row without a model call. A state with no
valid answer is recorded and raises :class:`~llm_experts.errors.InvalidStateError` when a
rollout reaches it; it is never mapped to an action.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from llm_experts.cache import AnswerCache, ProvenanceLog
from llm_experts.client import LLMClient, RetryPolicy, Usage
from llm_experts.errors import ConfigurationError, InvalidStateError
from llm_experts.personas import Persona, get_persona
from llm_experts.prompts import STYLES, Prompt, build_prompt
from llm_experts.server import default_cache_dir
from subrational_gym import make_env
from subrational_gym.policies import TabularPolicy

__all__ = ["InvalidState", "LLMExpert", "TabulationReport"]

MODES = ("score", "sample")


@dataclass(frozen=True)
class InvalidState:
    """A decision state for which the model gave no valid answer.

    Attributes:
        state: Index in the tabular model.
        description: The state's description.
        error: Why the answer is invalid.
    """

    state: int
    description: str
    error: str


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
    """

    n_states: int
    n_decision_states: int
    tabulated: int
    invalid: tuple[InvalidState, ...]
    usage: Usage
    seconds: float

    @property
    def complete(self) -> bool:
        """Whether every decision state has a valid distribution."""
        return not self.invalid and self.tabulated == self.n_decision_states


class LLMExpert(TabularPolicy):
    """A persona played by a language model, acting in a Subrational game.

    Args:
        env: A registered id (``"Subrational/Ultimatum-v0"``), a game name or an env.
        persona: A preset name (see :mod:`llm_experts.personas`) or a :class:`Persona`.
        env_kwargs: Constructor arguments when ``env`` is an id.
        model: Model name; default ``$SUBRATIONAL_LLM_MODEL`` or the embedded Gemma 270M.
        base_url: OpenAI-compatible endpoint; default ``$OPENAI_BASE_URL`` or the embedded
            server.
        api_key: Default ``$OPENAI_API_KEY``.
        mode: ``"score"`` reads label probabilities; ``"sample"`` counts ``n_samples`` answers.
        prompt_style: ``"completion"`` (default), ``"cot"`` (sample mode) or ``"chat"``.
        n_samples: Answers per state in sample mode.
        temperature: Sampling temperature in sample mode.
        seed: Seeds sampling requests and the generator that draws rollout actions.
        cache_path: SQLite answer cache; default ``<cache dir>/llm_answers.sqlite``.
        provenance_path: JSONL provenance log; default next to the cache.
        use_cache: False disables the cache (every answer is asked afresh).
        concurrency: Parallel requests in :meth:`tabulate`.
        top_logprobs: Alternatives read per token in score mode.
        max_reasks: Re-asks per invalid answer in sample mode.
        timeout: Seconds per request.
        retry: Retry policy for transient failures.
        progress: Show a tqdm progress bar while tabulating.
        client: Use this client instead of building one (then model/base_url/api_key/cache
            arguments are ignored).

    Raises:
        ConfigurationError: Unknown persona, mode or style, or bad arguments.
    """

    def __init__(
        self,
        env: Any,
        persona: str | Persona,
        *,
        env_kwargs: Mapping[str, Any] | None = None,
        model: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        mode: str = "score",
        prompt_style: str | None = None,
        n_samples: int = 10,
        temperature: float = 1.0,
        seed: int = 0,
        cache_path: str | os.PathLike[str] | None = None,
        provenance_path: str | os.PathLike[str] | None = None,
        use_cache: bool = True,
        concurrency: int = 4,
        top_logprobs: int = 100,
        max_reasks: int = 2,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        progress: bool = True,
        client: LLMClient | None = None,
    ) -> None:
        if mode not in MODES:
            raise ConfigurationError(f"mode must be one of {MODES}, got {mode!r}")
        style = prompt_style or "completion"
        if style not in STYLES:
            raise ConfigurationError(f"prompt_style must be one of {STYLES}, got {style!r}")
        if style == "cot" and mode != "sample":
            raise ConfigurationError("prompt_style='cot' needs mode='sample'")
        if not isinstance(concurrency, int) or concurrency < 1:
            raise ConfigurationError(f"concurrency must be an integer >= 1, got {concurrency!r}")
        if not isinstance(n_samples, int) or n_samples < 1:
            raise ConfigurationError(f"n_samples must be an integer >= 1, got {n_samples!r}")
        if env_kwargs and not isinstance(env, str):
            raise ConfigurationError("env_kwargs is only allowed with an env id; got an env")
        self.env = make_env(env, **dict(env_kwargs or {}))
        self.game = self.env.game
        self.persona = get_persona(persona, game=self.game)
        model_ = self.env.tabular_model()
        n, k = model_.n_states, model_.n_actions
        super().__init__(
            model_,
            np.full((n, k), 1.0 / k),
            seed=seed,
            name=f"llm:{self.persona.name}",
            params={"persona": self.persona.name, "mode": mode, "style": style},
        )
        self.mode = mode
        self.prompt_style = style
        self.n_samples = n_samples
        self.temperature = float(temperature)
        self.seed_value = int(seed)
        self.concurrency = concurrency
        self.max_reasks = int(max_reasks)
        self.progress = progress
        if client is None:
            cache = provenance = None
            if use_cache:
                path = (
                    Path(cache_path) if cache_path else default_cache_dir() / "llm_answers.sqlite"
                )
                cache = AnswerCache(path)
                prov = provenance_path or path.with_name(path.stem + ".provenance.jsonl")
                provenance = ProvenanceLog(prov)
            elif provenance_path:
                provenance = ProvenanceLog(provenance_path)
            client = LLMClient(
                base_url=base_url,
                api_key=api_key,
                model=model,
                timeout=timeout,
                retry=retry,
                cache=cache,
                provenance=provenance,
                top_logprobs=top_logprobs,
            )
        self.client = client
        self.params["model"] = client.model
        # NaN rows are decision states not asked yet; non-decision states are uniform.
        table = np.full((n, k), np.nan)
        table[~model_.decision_mask] = 1.0 / k
        self._table = table
        self._invalid: dict[int, InvalidState] = {}
        self._lock = threading.Lock()

    # ``TabularPolicy.__init__`` assigns ``probs``; here it is the (lazily) tabulated table.
    @property
    def probs(self) -> np.ndarray:  # type: ignore[override]
        """Action probabilities of every state, tabulating what is missing first.

        Raises:
            InvalidStateError: Some decision state has no valid answer.
        """
        if not hasattr(self, "_table"):
            return self._initial_probs
        self.tabulate()
        self._raise_if_invalid(self._invalid)
        out = self._table.copy()
        out.setflags(write=False)
        return out

    @probs.setter
    def probs(self, value: np.ndarray) -> None:
        self._initial_probs = value

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

    def prompt_for(self, state: int) -> Prompt:
        """The prompt asked for ``state`` (an index of the tabular model)."""
        m = self.model
        return build_prompt(
            self.persona,
            self.game,
            m.descriptions[state],
            m.action_labels[state],
            style=self.prompt_style,
        )

    def _ask(self, state: int) -> None:
        labels = self.model.action_labels[state]
        prompt = self.prompt_for(state)
        if self.mode == "score":
            result = self.client.score(
                prompt.payload, labels, persona=self.persona.name, prompt_version=prompt.version
            )
            probs, error = result.probs, result.error
        else:
            sampled = self.client.sample_labels(
                prompt.payload,
                labels,
                n=self.n_samples,
                temperature=self.temperature,
                seed=self.seed_value * 1_000_003 + state,
                max_tokens=160 if self.prompt_style == "cot" else 16,
                max_reasks=self.max_reasks,
                constrain=False if self.prompt_style == "cot" else None,
                persona=self.persona.name,
                prompt_version=prompt.version,
            )
            probs = sampled.probs
            error = (
                None
                if probs
                else f"no valid answer among {self.n_samples}: "
                + ("; ".join(sorted(set(sampled.errors))) or "empty")
            )
        with self._lock:
            if probs is None:
                self._invalid[state] = InvalidState(
                    state, self.model.descriptions[state], error or "invalid"
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
                disable=not self.progress,
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
        return TabulationReport(
            n_states=self.model.n_states,
            n_decision_states=decision,
            tabulated=tabulated,
            invalid=self.invalid_states,
            usage=self.usage - before,
            seconds=time.monotonic() - started,
        )

    def _raise_if_invalid(self, invalid: Mapping[int, InvalidState]) -> None:
        if not invalid:
            return
        first = invalid[min(invalid)]
        raise InvalidStateError(
            f"{len(invalid)} decision state(s) of {self.model.env_id} have no valid answer from "
            f"{self.client.model!r} (persona {self.persona.name!r}); first: state {first.state} "
            f"({first.description!r}): {first.error}. Fix: raise top_logprobs, use "
            "mode='sample', another model, or expert.tabulate(retry_invalid=True)"
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
            f"model={self.client.model!r}, mode={self.mode!r})"
        )
