"""The ultimatum game, responder side, and its reference policies.

The Fehr-Schmidt responders (:func:`inequity_averse_responder`,
:func:`fehr_schmidt_population`) are listed in :data:`REFERENCE_POLICIES`, so
``subrational_gym.policies`` serves them too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import IntEnum
from typing import Any, NamedTuple

import numpy as np
from gymnasium import spaces

from subrational_gym import make_env
from subrational_gym._validation import check_int, check_probability_vector, check_real
from subrational_gym.core import Outcome, SubrationalEnv
from subrational_gym.errors import ParameterError, UnknownObservationError
from subrational_gym.policies import (
    FEHR_SCHMIDT_ALPHAS,
    FEHR_SCHMIDT_BETAS,
    TabularPolicy,
    fehr_schmidt_accept_utility,
    logit_policy,
    require_game,
)

#: The game's reference policies, served by ``subrational_gym.policies`` as well.
REFERENCE_POLICIES = ("inequity_averse_responder", "fehr_schmidt_population")


class Decision(IntEnum):
    """The responder's actions."""

    REJECT = 0
    ACCEPT = 1


class UltimatumState(NamedTuple):
    """Meaning of an ultimatum observation.

    Attributes:
        t: Step, 0 while the offer is on the table, 1 once answered.
        offer: Dollars offered to the responder (0..pie).
        pie: Dollars the proposer splits.
        accepted: None before the answer, then whether the offer was accepted.
    """

    t: int
    offer: int
    pie: int
    accepted: bool | None


class UltimatumEnv(SubrationalEnv[UltimatumState]):
    """The responder in the ultimatum game.

    ## Description
    A proposer splits a pie of ``pie`` dollars and offers the responder ``x`` of it,
    keeping ``pie - x``. If the responder accepts, both get their shares; if it
    rejects, both get nothing (Güth, Schmittberger and Schwarze 1982). An income
    maximiser accepts every positive offer; people reject low offers: about half of
    responders reject offers below 30% of the pie (Oosterbeek, Sloof and van de
    Kuilen 2004; Camerer 2003). The responder is the agent; the proposer is part of
    the environment and draws its offer from ``offer_distribution``. This is the
    first game of Coletta et al. 2024 (arXiv 2402.08755).

    ## Action Space
    ``Discrete(2)``: ``Decision.REJECT = 0``, ``Decision.ACCEPT = 1``.

    ## Observation Space
    ``Box(0, 1, (3,), float32)``:

    | index | feature       | meaning                                    |
    |-------|---------------|--------------------------------------------|
    | 0     | offer_share   | offer / pie, in {0, 1/pie, ..., 1}         |
    | 1     | responded     | 0 while the offer is on the table, then 1  |
    | 2     | accepted      | 1 if the offer was accepted, else 0        |

    ``observation_meaning(obs)`` maps an observation back to an
    :class:`UltimatumState` (offer in dollars).

    ## Rewards
    ``offer`` dollars if accepted, 0 if rejected.

    ## Starting State
    The offer is drawn from ``offer_distribution`` (uniform over 0..pie by default),
    or fixed by ``offer=`` or ``reset(options={"offer": x})``.

    ## Episode End
    Termination: after the single decision (horizon 1). Truncation: never.

    ## Information
    ``info["offer"]``: the offer in dollars; ``info["pie"]``: the pie.

    ## Arguments
    >>> import gymnasium as gym
    >>> env = gym.make("Subrational/Ultimatum-v0", pie=10, render_mode="ansi")
    >>> obs, info = env.reset(seed=0, options={"offer": 3})
    >>> info["offer"], env.unwrapped.describe(obs).split(".")[0]
    (3, 'The proposer has $10 to split between the two of you and offers you $3, keeping $7')
    >>> obs, reward, terminated, truncated, info = env.step(Decision.ACCEPT)
    >>> reward, terminated
    (3.0, True)

    - ``pie`` (int, default 10): dollars to split, at least 1.
    - ``offer`` (int or None, default None): fix the offer in every episode.
    - ``offer_distribution`` (sequence of ``pie + 1`` probabilities or None): the
      proposer's distribution over offers 0..pie; None means uniform.
    - ``render_mode`` (``"ansi"`` or None).

    ## References
    - Güth, Schmittberger and Schwarze (1982), J. Economic Behavior & Organization 3:367.
    - Oosterbeek, Sloof and van de Kuilen (2004), Experimental Economics 7:171.
    - Coletta et al. (2024), LLM-driven Imitation of Subrational Behavior, arXiv 2402.08755.

    ## Version History
    - v0: initial version.
    """

    game = "ultimatum"
    env_id = "Subrational/Ultimatum-v0"
    Action = Decision

    def __init__(
        self,
        *,
        pie: int = 10,
        offer: int | None = None,
        offer_distribution: Sequence[float] | None = None,
        render_mode: str | None = None,
    ) -> None:
        super().__init__(render_mode=render_mode)
        self.pie = check_int("pie", pie, low=1)
        self.offer = None if offer is None else check_int("offer", offer, low=0, high=self.pie)
        if offer_distribution is None:
            self.offer_distribution = np.full(self.pie + 1, 1.0 / (self.pie + 1))
        else:
            self.offer_distribution = check_probability_vector(
                "offer_distribution", offer_distribution, length=self.pie + 1
            )
        self.action_space = spaces.Discrete(len(Decision))
        self.observation_space = spaces.Box(0.0, 1.0, shape=(3,), dtype=np.float32)

    @property
    def horizon(self) -> int:
        """One decision per episode."""
        return 1

    def _kwargs(self) -> dict[str, Any]:
        return {"pie": self.pie, "offer": self.offer,
                "offer_distribution": self.offer_distribution.tolist()}

    def _start_states(self) -> list[UltimatumState]:
        return [UltimatumState(0, x, self.pie, None) for x in range(self.pie + 1)]

    def _initial_outcomes(self, options: Mapping[str, Any]) -> list[tuple[float, UltimatumState]]:
        unknown = set(options) - {"offer"}
        if unknown:
            raise ParameterError(
                f"reset options {sorted(unknown)} are not understood by {self.env_id}; "
                f"the only option is 'offer' (an int in 0..{self.pie})"
            )
        offer = options.get("offer", self.offer)
        if offer is not None:
            offer = check_int("offer", offer, low=0, high=self.pie)
            return [(1.0, UltimatumState(0, offer, self.pie, None))]
        return [
            (float(p), UltimatumState(0, x, self.pie, None))
            for x, p in enumerate(self.offer_distribution)
            if p > 0
        ]

    def _outcomes(self, state: UltimatumState, action: int) -> list[Outcome]:
        accepted = action == Decision.ACCEPT
        reward = float(state.offer) if accepted else 0.0
        return [(1.0, UltimatumState(1, state.offer, self.pie, accepted), reward)]

    def _observe(self, state: UltimatumState) -> np.ndarray:
        return np.array(
            [state.offer / self.pie, float(state.t), float(bool(state.accepted))],
            dtype=np.float32,
        )

    def _decode(self, observation: np.ndarray) -> UltimatumState:
        if observation.shape != (3,):
            raise UnknownObservationError(
                f"an ultimatum observation has shape (3,), got {observation.shape}"
            )
        share, responded, accepted = (float(v) for v in observation)
        offer = round(share * self.pie)
        valid = (
            0 <= offer <= self.pie
            and responded in (0.0, 1.0)
            and accepted in (0.0, 1.0)
            and not (responded == 0.0 and accepted == 1.0)
        )
        state = UltimatumState(
            int(responded), offer, self.pie, None if responded == 0.0 else accepted == 1.0
        )
        if not valid or not np.array_equal(self._observe(state), observation):
            raise UnknownObservationError(
                f"{observation.tolist()} is not an ultimatum observation with pie={self.pie}; "
                f"expected [offer/pie, responded (0|1), accepted (0|1)]"
            )
        return state

    def _describe(self, state: UltimatumState) -> str:
        keep = self.pie - state.offer
        text = (
            f"The proposer has ${self.pie} to split between the two of you and offers you "
            f"${state.offer}, keeping ${keep}. If you accept, you get ${state.offer} and the "
            f"proposer gets ${keep}; if you reject, you both get nothing."
        )
        if state.accepted is True:
            text += " You accepted."
        elif state.accepted is False:
            text += " You rejected."
        return text

    def _info(self, state: UltimatumState) -> dict[str, Any]:
        return {"offer": state.offer, "pie": self.pie}


# ------------------------------------------------------------ reference policies
def inequity_averse_responder(
    env: str | SubrationalEnv = "Subrational/Ultimatum-v0",
    *,
    alpha: float = 0.85,
    beta: float = 0.315,
    temperature: float = 0.0,
    seed: int | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
) -> TabularPolicy:
    """A Fehr-Schmidt inequity-averse ultimatum responder.

    Accepting ``x`` of ``pie`` is worth ``x - alpha * max(pie - 2x, 0) - beta * max(2x - pie,
    0)``; rejecting is worth 0. The defaults are the means of the Fehr and Schmidt
    (1999) population (alpha: 0.3 at 0, 0.3 at 0.5, 0.3 at 1, 0.1 at 4; beta: 0.3 at 0,
    0.3 at 0.25, 0.4 at 0.6), so the responder rejects offers below
    ``alpha * pie / (1 + 2 alpha)``, about 31% of the pie.
    """
    game = make_env(env, **dict(env_kwargs or {}))
    require_game(game, "ultimatum", "inequity_averse_responder")
    alpha = check_real("alpha", alpha, low=0.0)
    beta = check_real("beta", beta, low=0.0, high=1.0)

    def utility(state: Any) -> tuple[float, float]:
        return (0.0, float(fehr_schmidt_accept_utility(state.offer, state.pie, alpha, beta)))

    return logit_policy(game, utility, temperature=temperature, seed=seed,
                        name=f"inequity aversion(alpha={alpha:g})",
                        params={"alpha": alpha, "beta": beta})


def fehr_schmidt_population(
    env: str | SubrationalEnv = "Subrational/Ultimatum-v0",
    *,
    temperature: float = 0.0,
    seed: int | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
) -> TabularPolicy:
    """The Fehr and Schmidt (1999) population of responders, as one mixed policy.

    Each responder type (alpha, beta) from
    :data:`~subrational_gym.policies.FEHR_SCHMIDT_ALPHAS` and
    :data:`~subrational_gym.policies.FEHR_SCHMIDT_BETAS` (taken as independent) answers as
    :func:`inequity_averse_responder`; the policy is the population-weighted mixture,
    so its acceptance probability at an offer is the share of the population that
    accepts it. The ultimatum game has one decision per episode, so mixing per state
    is exactly the behaviour of a randomly drawn responder.
    """
    game = make_env(env, **dict(env_kwargs or {}))
    require_game(game, "ultimatum", "fehr_schmidt_population")
    model = game.tabular_model()
    probs = np.zeros((model.n_states, model.n_actions))
    for alpha, wa in FEHR_SCHMIDT_ALPHAS:
        for beta, wb in FEHR_SCHMIDT_BETAS:
            probs += wa * wb * inequity_averse_responder(
                game, alpha=alpha, beta=beta, temperature=temperature).probs
    return TabularPolicy(model, probs, seed=seed, name="Fehr-Schmidt population",
                         params={"temperature": temperature})
