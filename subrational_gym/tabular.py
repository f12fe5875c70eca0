"""The exact tabular model of a game: every reachable state, its observation, and ``P[s][a]``.

One enumeration of each game serves reference policies, value iteration, LLM
tabulation and exact evaluation, in the spirit of Gymnasium toy-text's ``P``.
States are indexed ``0 .. n_states - 1``. Each state carries its time step, and
the time step only grows, so the state graph is a layered DAG: finite-horizon
dynamic programming is exact with one backward pass.

Every action leads to a handful of successors, so the transition probabilities are
stored sparsely (:class:`SparseTransitions`, compressed rows of successors and
probabilities per state and action): memory and the planners' time grow with
states x actions x successors, not with the square of the number of states. The
dense ``(n_states, n_actions, n_states)`` matrix is still available for small models
(:attr:`TabularModel.transition_matrix`), built on demand below :data:`DENSE_LIMIT_BYTES`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from subrational_gym.errors import ModelTooLargeError, UnknownObservationError

if TYPE_CHECKING:
    from scipy import sparse

#: Largest dense transition matrix :attr:`TabularModel.transition_matrix` will build, in
#: bytes (256 MiB: about 4,000 states with two actions). Above it, use the sparse form.
DENSE_LIMIT_BYTES = 256 * 2**20


@dataclass(frozen=True)
class Transition:
    """One outcome of taking an action in a state.

    Attributes:
        probability: Probability of this outcome, in (0, 1].
        next_state: Index of the next state.
        reward: Reward received on this transition.
        terminated: Whether the episode ends with this transition.
    """

    probability: float
    next_state: int
    reward: float
    terminated: bool


def _restore_read_only(obj: Any, state: dict[str, Any]) -> None:
    """Unpickle a frozen dataclass's state with its arrays read-only again, as built."""
    for name, value in state.items():
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
        object.__setattr__(obj, name, value)


@dataclass(frozen=True, eq=False)
class SparseTransitions:
    """Transition probabilities in compressed sparse row form, one row per (state, action).

    Row ``s * n_actions + a`` holds the successors of action ``a`` in state ``s``: the
    entries ``indptr[row]:indptr[row + 1]`` of ``next_state`` (ascending, each at most
    once) and of ``probability``. Terminal states have empty rows. Memory and every
    operation below are linear in the number of entries (states x actions x successors).

    >>> import subrational_gym
    >>> model = subrational_gym.make_env("Subrational/Marshmallow-v0").tabular_model()
    >>> sp = model.sparse_transitions
    >>> sp.successors(0, 0)  # wait in the first minute: one successor, for sure
    (array([1]), array([1.]))
    >>> sp.matrix(0).shape, sp.nnz == int(sp.indptr[-1])
    ((21, 21), True)

    Attributes:
        n_states: Number of states.
        n_actions: Number of actions.
        indptr: ``(n_states * n_actions + 1,)`` int64 start of each row's entries.
        next_state: ``(nnz,)`` int64 successor of each entry.
        probability: ``(nnz,)`` float64 probability of each entry, in (0, 1].
    """

    n_states: int
    n_actions: int
    indptr: np.ndarray
    next_state: np.ndarray
    probability: np.ndarray
    _row: np.ndarray = field(init=False, repr=False)
    _ranges: dict[tuple[int, int], tuple[np.ndarray, ...]] = field(
        init=False, repr=False, default_factory=dict)
    _cached_entries: list[int] = field(init=False, repr=False, default_factory=lambda: [0])

    def __getstate__(self) -> dict[str, Any]:
        """Picklable state, without the range cache (rebuilt on demand)."""
        return {**self.__dict__, "_ranges": {}, "_cached_entries": [0]}

    def __setstate__(self, state: dict[str, Any]) -> None:
        _restore_read_only(self, state)

    def __post_init__(self) -> None:
        n_rows = self.n_states * self.n_actions
        # Own read-only copies: the caller's arrays stay writable and cannot change these.
        indptr = np.array(self.indptr, dtype=np.int64)
        nxt = np.array(self.next_state, dtype=np.int64)
        prob = np.array(self.probability, dtype=np.float64)
        if indptr.shape != (n_rows + 1,) or indptr[0] != 0 or (np.diff(indptr) < 0).any():
            raise ValueError(
                f"indptr must be a non-decreasing array of {n_rows + 1} offsets starting at 0 "
                f"(one row per state and action), got shape {indptr.shape}"
            )
        if nxt.shape != (indptr[-1],) or prob.shape != nxt.shape:
            raise ValueError(
                f"next_state and probability must hold indptr[-1] = {indptr[-1]} entries, got "
                f"shapes {nxt.shape} and {prob.shape}"
            )
        if nxt.size and (nxt.min() < 0 or nxt.max() >= self.n_states):
            raise ValueError(f"next_state must index the {self.n_states} states")
        row = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(indptr))
        for name, arr in (("indptr", indptr), ("next_state", nxt), ("probability", prob),
                          ("_row", row)):
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @property
    def nnz(self) -> int:
        """Number of stored (state, action, successor) entries."""
        return int(self.next_state.size)

    def successors(self, state: int, action: int) -> tuple[np.ndarray, np.ndarray]:
        """Successor states (ascending) of ``action`` in ``state`` and their probabilities.

        Both arrays are read-only views; they are empty for a terminal state.
        """
        row = int(state) * self.n_actions + int(action)
        lo, hi = self.indptr[row], self.indptr[row + 1]
        return self.next_state[lo:hi], self.probability[lo:hi]

    def expected(self, values: np.ndarray, states: slice | None = None) -> np.ndarray:
        """``sum_s' P(s' | s, a) values[s']`` for every action of the ``states``.

        Args:
            values: ``(n_states,)`` a value per state.
            states: A contiguous range of states (``slice(lo, hi)``); all states if None.

        Returns:
            ``(n, n_actions)`` expected next value, zero for terminal states.
        """
        nxt, prob, rows, n_rows = self._range(states)
        out = np.bincount(rows, weights=prob * np.asarray(values)[nxt], minlength=n_rows)
        return out.reshape(n_rows // self.n_actions, self.n_actions)

    def propagate(self, mass: np.ndarray, states: slice, out: np.ndarray) -> None:
        """Add to ``out[s']`` the mass that moves there from ``states``.

        Args:
            mass: ``(n, n_actions)`` probability mass on each action of the ``n`` states of
                the range (for example occupancy times choice probability).
            states: The contiguous range of states the mass is on.
            out: ``(n_states,)`` array the successors' mass is added to, in place.
        """
        nxt, prob, rows, n_rows = self._range(states)
        flat = np.asarray(mass, dtype=np.float64).reshape(n_rows)
        np.add.at(out, nxt, flat[rows] * prob)

    def matrix(self, action: int) -> sparse.csr_array:
        """The ``(n_states, n_states)`` scipy CSR matrix of ``action``'s probabilities."""
        from scipy import sparse

        a = int(action)
        if not 0 <= a < self.n_actions:
            raise ValueError(f"action must be in 0..{self.n_actions - 1}, got {action!r}")
        counts = np.diff(self.indptr).reshape(self.n_states, self.n_actions)[:, a]
        mask = self._row % self.n_actions == a
        indptr = np.concatenate([[0], np.cumsum(counts)])
        return sparse.csr_array((self.probability[mask], self.next_state[mask], indptr),
                                shape=(self.n_states, self.n_states))

    def _range(self, states: slice | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """Successors, probabilities and range-local rows of a range's entries, and its rows.

        Kept per range: the planners sweep the same time-step ranges again and again, and
        a small game's sweep is dominated by per-call overhead. The copies add up to the
        entries of the ranges used (each time step's once).
        """
        if states is None:
            lo, hi = 0, self.n_states
        else:
            lo, hi, step = states.indices(self.n_states)
            if step != 1:
                raise ValueError(f"states must be a contiguous range (step 1), got {states!r}")
            hi = max(lo, hi)
        cached = self._ranges.get((lo, hi))
        if cached is None:
            r0, r1 = lo * self.n_actions, hi * self.n_actions
            e0, e1 = int(self.indptr[r0]), int(self.indptr[r1])
            rows = self._row[e0:e1]
            if r0:
                rows = rows - r0
                rows.setflags(write=False)
            cached = (self.next_state[e0:e1], self.probability[e0:e1], rows, r1 - r0)
            # The time steps are disjoint ranges: the planners' cache never holds more than
            # the entries once. Arbitrary ranges could: start over past twice that.
            if self._cached_entries[0] + e1 - e0 > 2 * self.nnz + 1024:
                self._ranges.clear()
                self._cached_entries[0] = 0
            self._ranges[(lo, hi)] = cached
            self._cached_entries[0] += e1 - e0
        return cached


@dataclass(frozen=True, eq=False)
class TabularModel:
    """Exact model of a game with fixed horizon.

    Attributes:
        env_id: Registered id of the game, e.g. ``"Subrational/Ultimatum-v0"``.
        env_kwargs: Constructor keyword arguments the model was built with.
        horizon: Number of steps in every episode.
        n_actions: Number of actions (the same in every state).
        observations: ``(n_states, obs_dim)`` float32 observation of each state.
        times: ``(n_states,)`` time step of each state (``horizon`` for terminal states).
        initial_distribution: ``(n_states,)`` probability of starting in each state under
            the env's default ``reset``.
        transitions: ``transitions[s][a]`` is a tuple of :class:`Transition`; empty for
            terminal states. The same probabilities, merged per successor, are in
            :attr:`sparse_transitions` for computation.
        decision_mask: ``(n_states,)`` True where the choice of action changes the outcome.
        descriptions: Natural-language description of each state (second person).
        action_labels: One-word label of each action in each state, in action-index order.
    """

    env_id: str
    env_kwargs: Mapping[str, Any]
    horizon: int
    n_actions: int
    observations: np.ndarray
    times: np.ndarray
    initial_distribution: np.ndarray
    transitions: tuple[tuple[tuple[Transition, ...], ...], ...]
    decision_mask: np.ndarray
    descriptions: tuple[str, ...]
    action_labels: tuple[tuple[str, ...], ...]
    _index: dict[bytes, int] = field(init=False, repr=False)
    _sparse: SparseTransitions = field(init=False, repr=False)
    _r: np.ndarray = field(init=False, repr=False)
    _dense: np.ndarray | None = field(init=False, repr=False, default=None)

    def __getstate__(self) -> dict[str, Any]:
        """Picklable state for worker processes.

        ``env_kwargs`` travels as a plain dict; the dense matrix is left behind (rebuilt on
        demand).
        """
        return {**self.__dict__, "env_kwargs": dict(self.env_kwargs), "_dense": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        _restore_read_only(self, state)
        object.__setattr__(self, "env_kwargs", MappingProxyType(dict(self.env_kwargs)))

    def __post_init__(self) -> None:
        n = len(self.transitions)
        if self.observations.shape[0] != n or self.times.shape != (n,):
            raise ValueError(
                f"inconsistent tabular model: {n} states but observations of shape "
                f"{self.observations.shape} and times of shape {self.times.shape}"
            )
        object.__setattr__(self, "env_kwargs", MappingProxyType(dict(self.env_kwargs)))
        index = {obs.tobytes(): i for i, obs in enumerate(self.observations)}
        if len(index) != n:
            raise ValueError("two states of the tabular model share an observation")
        object.__setattr__(self, "_index", index)
        sparse, r = _compress(self.transitions, n, self.n_actions)
        for arr in (r, self.observations, self.times, self.initial_distribution,
                    self.decision_mask):
            arr.setflags(write=False)
        object.__setattr__(self, "_sparse", sparse)
        object.__setattr__(self, "_r", r)

    @property
    def n_states(self) -> int:
        """Number of states, terminal states included."""
        return len(self.transitions)

    @property
    def sparse_transitions(self) -> SparseTransitions:
        """The transition probabilities, sparse: successors and probabilities per (s, a)."""
        return self._sparse

    @property
    def transition_matrix(self) -> np.ndarray:
        """Dense ``(n_states, n_actions, n_states)`` transition probabilities (read-only).

        Built on first use and kept; meant for small models and inspection. Planners and
        evaluation use :attr:`sparse_transitions`, which grows linearly with the model.

        Raises:
            ModelTooLargeError: if the matrix would take more than :data:`DENSE_LIMIT_BYTES`.
        """
        if self._dense is None:
            n, k = self.n_states, self.n_actions
            size = n * k * n * 8
            if size > DENSE_LIMIT_BYTES:
                raise ModelTooLargeError(
                    f"the dense transition matrix of {self.env_id} ({n} states) would be "
                    f"({n}, {k}, {n}) float64 = {size / 2**30:.2f} GiB, above the limit of "
                    f"{DENSE_LIMIT_BYTES / 2**20:.0f} MiB (subrational_gym.tabular."
                    f"DENSE_LIMIT_BYTES); use model.sparse_transitions instead (successors and "
                    f"probabilities per state and action, .expected(values) for P @ values, "
                    f".matrix(action) for a scipy.sparse CSR matrix), whose size is linear in "
                    f"the number of states"
                )
            sp = self._sparse
            p = np.zeros((n, k, n), dtype=np.float64)
            p.reshape(n * k, n)[sp._row, sp.next_state] = sp.probability
            p.setflags(write=False)
            object.__setattr__(self, "_dense", p)
        return self._dense

    @property
    def reward_matrix(self) -> np.ndarray:
        """``(n_states, n_actions)`` expected immediate reward (read-only)."""
        return self._r

    @property
    def terminal_mask(self) -> np.ndarray:
        """``(n_states,)`` True for states reached at the end of an episode."""
        return self.times >= self.horizon

    def state_index(self, observation: np.ndarray) -> int:
        """Index of the state whose observation is ``observation``.

        Raises:
            UnknownObservationError: if no reachable state has this observation.
        """
        obs = np.asarray(observation, dtype=np.float32).reshape(self.observations.shape[1:])
        try:
            return self._index[obs.tobytes()]
        except KeyError:
            raise UnknownObservationError(
                f"observation {obs.tolist()} is not a reachable state of {self.env_id} "
                f"with {dict(self.env_kwargs)}; pass an observation produced by an env built "
                f"with the same arguments (see TabularModel.observations for all of them)"
            ) from None

    def state_indices(self, observations: np.ndarray) -> np.ndarray:
        """Indices of a batch of observations, shape ``(batch,)``.

        Raises:
            UnknownObservationError: if an observation is not a reachable state.
        """
        obs = np.asarray(observations, dtype=np.float32)
        obs = obs.reshape(-1, *self.observations.shape[1:])
        return np.fromiter((self.state_index(o) for o in obs), dtype=np.int64, count=len(obs))


def _compress(transitions: tuple[tuple[tuple[Transition, ...], ...], ...], n_states: int,
              n_actions: int) -> tuple[SparseTransitions, np.ndarray]:
    """Sparse probabilities (merged per successor, sorted) and expected rewards.

    Outcomes that reach the same successor are summed in their listed order, the
    arithmetic a dense accumulation ``P[s, a, s'] += p`` would do.
    """
    rows: list[int] = []
    nxt: list[int] = []
    prob: list[float] = []
    r = np.zeros((n_states, n_actions), dtype=np.float64)
    for s, per_action in enumerate(transitions):
        for a, outcomes in enumerate(per_action):
            row = s * n_actions + a
            acc = 0.0
            for tr in outcomes:
                rows.append(row)
                nxt.append(tr.next_state)
                prob.append(tr.probability)
                acc += tr.probability * tr.reward
            r[s, a] = acc
    row_arr = np.array(rows, dtype=np.int64)
    nxt_arr = np.array(nxt, dtype=np.int64)
    prob_arr = np.array(prob, dtype=np.float64)
    order = np.lexsort((nxt_arr, row_arr))  # stable: duplicates keep their listed order
    row_arr, nxt_arr, prob_arr = row_arr[order], nxt_arr[order], prob_arr[order]
    if row_arr.size:
        first = np.ones(row_arr.size, dtype=bool)
        first[1:] = (row_arr[1:] != row_arr[:-1]) | (nxt_arr[1:] != nxt_arr[:-1])
        if not first.all():
            starts = np.flatnonzero(first)
            ends = np.append(starts[1:], row_arr.size)
            merged = prob_arr[starts]
            for g in np.flatnonzero(ends - starts > 1):
                merged[g] = sum(prob_arr[starts[g]:ends[g]].tolist(), 0.0)
            row_arr, nxt_arr, prob_arr = row_arr[starts], nxt_arr[starts], merged
    indptr = np.zeros(n_states * n_actions + 1, dtype=np.int64)
    np.cumsum(np.bincount(row_arr, minlength=n_states * n_actions), out=indptr[1:])
    return SparseTransitions(n_states=n_states, n_actions=n_actions, indptr=indptr,
                             next_state=nxt_arr, probability=prob_arr), r
