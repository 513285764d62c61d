"""The Evolino LSTM: genome layout and the population-batched forward pass (numpy reference).

One memory cell per block. Every cell receives the same source vector

    x(t) = [u(t), s * y(t-1), h(t-1)]        (n_inputs + n_outputs*feedback + cells,)

(external inputs ``u``, the previous target or output ``y`` fed back at scale ``s``, and all cell outputs) and
computes, with gate order (cell input z, input gate i, forget gate f, output gate o)::

    z = tanh(W_z x + b_z)
    i = sigmoid(W_i x + b_i + p_i * c(t-1))
    f = sigmoid(W_f x + b_f + p_f * c(t-1))        (f = 1 without a forget gate)
    c = f * c(t-1) + i * z
    o = sigmoid(W_o x + b_o + p_o * c(t))
    h = o * tanh(c)

The linear output layer is not part of the genome: the readout computes it by least squares. It sees the cell
outputs and, with ``readout_lags = L > 0``, also the external sources of the last L steps directly (the "extended
state" of echo state networks, which contains a linear autoregression as a special case)::

    y(t) = W_out^T [h(t), x_e(t), x_e(t-1), ..., x_e(t-L+1), 1],    x_e(t) = [u(t), y(t-1)]   (unscaled)

so the readout has ``cells + L * (n_inputs + n_feedback) + 1`` rows (:attr:`LSTMSpec.readout_rows`), the bias last.

For a label per sequence the readout may see the cell outputs pooled over the sequence so far instead of (or besides)
h(t) alone (``readout_pool``, :func:`pool_features`): any of ``last`` = h(t), ``mean`` = the mean of h(0..t) and
``max`` = their element-wise maximum, joined with "+" (e.g. "last+mean"), so that the readout's cell rows are
``cells * len(pools)`` (:attr:`LSTMSpec.cell_features`). Pools run from the first step of a sequence and carry across
the segments it is computed in (:class:`PoolCarry`); they are for sequences read teacher-forced (no feedback).

Genome layout, cell-major so that each cell's weights are one contiguous slice (ESP's chromosome)::

    genome = [cell_0 | cell_1 | ... ],  cell_k = [W_z[k], b_z[k], W_i[k], b_i[k], W_f[k], b_f[k],
                                                   W_o[k], b_o[k], p_i[k], p_f[k], p_o[k]]

Every function here is pure: arrays in, arrays out; a genome's result never depends on which other genomes share
its batch (each genome's arithmetic is done by the same per-genome operations in the same order).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

__all__ = ["DEFAULT_FEEDBACK_SCALE", "LSTMSpec", "LSTMWeights", "LSTMState", "PoolCarry", "POOLS", "sigmoid", "unpack",
           "teacher_forced", "closed_loop", "direct_features", "lag_matrix", "lag_view", "pool_features",
           "readout_outputs", "external_sources", "history_rows"]

POOLS = ("last", "mean", "max")  # what a pooled readout can join with "+", in this order

# Chosen with readout.DEFAULT_RCOND on MSO2's validation window (experiments/mso.py ablation, AVX2, 1 December 2026).
# Rerun at the code of 7 December on AVX-512 the ablation prefers 1e-5 (median validation 4.3e-9 against 1.2e-8):
# kept for now, since every published run uses 1e-4; a change of default is a change of every number.
DEFAULT_FEEDBACK_SCALE = 1e-4
DRIVE_STEPS = 256  # steps of a closed loop whose input drive is computed at once


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function written with tanh, so that huge arguments never overflow."""
    return 0.5 + 0.5 * np.tanh(0.5 * x)


@dataclass(frozen=True)
class LSTMSpec:
    """Sizes and variant of an Evolino LSTM; defines the genome layout.

    Parameters
    ----------
    n_inputs : int
        External inputs per step (0 for purely generative tasks such as MSO).
    cells : int
        Memory cells (one per block).
    n_outputs : int
        Linear outputs computed by the readout.
    peepholes : bool
        Peephole connections from the cell state to the three gates.
    forget_gate : bool
        Use a forget gate; without it the cell state is a pure accumulator (f = 1).
    feedback : bool
        Feed the previous target (teacher forcing) or output (closed loop) back as an input.
    feedback_scale : float
        Factor applied to the fed-back value. Small values (the default, :data:`DEFAULT_FEEDBACK_SCALE`) keep the
        cells near their linear regime, which is what oscillator tasks need.
    readout_lags : int
        Steps of external sources (inputs and unscaled fed-back values) the readout sees directly besides the cell
        outputs; 0 is the papers' readout.
    readout_pool : str
        What the readout sees of the cells: "last" (h(t), the papers' readout), or pools of the cell outputs over
        the sequence so far joined with "+" ("mean", "max", "last+mean", "last+mean+max", ...; see
        :func:`pool_features`). Pools need a network without feedback.
    """

    n_inputs: int = 0
    cells: int = 10
    n_outputs: int = 1
    peepholes: bool = True
    forget_gate: bool = True
    feedback: bool = True
    feedback_scale: float = DEFAULT_FEEDBACK_SCALE
    readout_lags: int = 0
    readout_pool: str = "last"

    def __post_init__(self) -> None:
        if self.cells < 1:
            raise ValueError(f"cells must be >= 1, got {self.cells}")
        if self.n_inputs < 0 or self.n_outputs < 1:
            raise ValueError(f"need n_inputs >= 0 and n_outputs >= 1, got {self.n_inputs}, {self.n_outputs}")
        if not np.isfinite(self.feedback_scale):
            raise ValueError(f"feedback_scale must be finite, got {self.feedback_scale}")
        if self.readout_lags < 0:
            raise ValueError(f"readout_lags must be >= 0, got {self.readout_lags}")
        pools = str(self.readout_pool).split("+")
        if not pools or any(p not in POOLS for p in pools) or len(set(pools)) != len(pools):
            raise ValueError(f"readout_pool must join {', '.join(POOLS)} with '+', got {self.readout_pool!r}")
        object.__setattr__(self, "readout_pool", "+".join(p for p in POOLS if p in pools))  # one spelling
        if self.pooled and self.feedback:
            raise ValueError("a pooled readout (readout_pool other than 'last') needs a network without feedback")

    @property
    def n_gates(self) -> int:
        """Weighted units per cell: cell input, input gate, [forget gate], output gate."""
        return 4 if self.forget_gate else 3

    @property
    def n_feedback(self) -> int:
        return self.n_outputs if self.feedback else 0

    @property
    def n_sources(self) -> int:
        """Length of the source vector x(t) every unit sees."""
        return self.n_inputs + self.n_feedback + self.cells

    @property
    def n_external(self) -> int:
        """External sources per step: inputs and fed-back values."""
        return self.n_inputs + self.n_feedback

    @property
    def n_direct(self) -> int:
        """Readout rows that see external sources directly."""
        return self.readout_lags * self.n_external

    @property
    def pools(self) -> tuple[str, ...]:
        return tuple(self.readout_pool.split("+"))

    @property
    def pooled(self) -> bool:
        """Whether the readout sees pools of the cell outputs (anything but h(t) alone)."""
        return self.readout_pool != "last"

    @property
    def cell_features(self) -> int:
        """Readout rows that see the cells: cells times the pools."""
        return self.cells * len(self.pools)

    @property
    def readout_rows(self) -> int:
        """Rows of the readout: cell features, direct sources, bias."""
        return self.cell_features + self.n_direct + 1

    @property
    def n_peepholes(self) -> int:
        return (self.n_gates - 1) if self.peepholes else 0

    @property
    def cell_genes(self) -> int:
        """Genes per cell: weights and bias of each unit, plus peepholes."""
        return self.n_gates * (self.n_sources + 1) + self.n_peepholes

    @property
    def dimension(self) -> int:
        """Genome length d."""
        return self.cells * self.cell_genes

    def cell_slices(self) -> list[slice]:
        """The contiguous genome slice of each cell (ESP's chromosomes)."""
        g = self.cell_genes
        return [slice(k * g, (k + 1) * g) for k in range(self.cells)]

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> LSTMSpec:
        return cls(**json.loads(text))  # specs saved before readout_lags existed read as readout_lags = 0


@dataclass(frozen=True)
class LSTMWeights:
    """A population's weights in computation-friendly form.

    Attributes
    ----------
    w_ext : (n, G*C, n_inputs + n_feedback)   weights from the external inputs and the (unscaled) feedback
    w_rec : (n, G*C, C)                        weights from the previous cell outputs
    bias : (n, G*C)
    peep : (n, G-1, C)                         peepholes of input, [forget,] output gate (zeros without peepholes)

    Rows are unit-major: row ``g*C + k`` is unit ``g`` (z, i, [f,] o) of cell ``k``. The feedback scale is folded
    into ``w_ext``'s feedback columns, so callers feed the raw previous target or output.
    """

    w_ext: np.ndarray
    w_rec: np.ndarray
    bias: np.ndarray
    peep: np.ndarray


@dataclass
class PoolCarry:
    """What the pools of a sequence so far need to go on: the sum (n, cells) and element-wise maximum (n, cells) of
    the cell outputs of ``count`` steps."""

    total: np.ndarray
    largest: np.ndarray
    count: int = 0

    @classmethod
    def zeros(cls, n: int, cells: int) -> PoolCarry:
        return cls(np.zeros((n, cells)), np.full((n, cells), -np.inf), 0)


@dataclass
class LSTMState:
    """Cell outputs ``h`` and cell states ``c`` of a population, each (n, cells); ``pool`` carries a pooled
    readout's pools across segments of one sequence (None when there are none)."""

    h: np.ndarray
    c: np.ndarray
    pool: PoolCarry | None = None

    @classmethod
    def zeros(cls, n: int, cells: int) -> LSTMState:
        return cls(np.zeros((n, cells)), np.zeros((n, cells)))

    def copy(self) -> LSTMState:
        pool = None if self.pool is None else PoolCarry(self.pool.total.copy(), self.pool.largest.copy(),
                                                         self.pool.count)
        return LSTMState(self.h.copy(), self.c.copy(), pool)


def unpack(spec: LSTMSpec, genomes: np.ndarray) -> LSTMWeights:
    """Turn genomes (n, d) into batched weight arrays (see :class:`LSTMWeights`)."""
    genomes = np.asarray(genomes, dtype=np.float64)
    if genomes.ndim != 2 or genomes.shape[1] != spec.dimension:
        raise ValueError(f"genomes must have shape (n, {spec.dimension}), got {genomes.shape}")
    n, C, G, S = genomes.shape[0], spec.cells, spec.n_gates, spec.n_sources
    per_cell = genomes.reshape(n, C, spec.cell_genes)
    units = per_cell[:, :, : G * (S + 1)].reshape(n, C, G, S + 1).transpose(0, 2, 1, 3)  # (n, G, C, S+1)
    w = units[..., :S].reshape(n, G * C, S)
    n_ext = spec.n_inputs + spec.n_feedback
    w_ext = np.array(w[:, :, :n_ext])
    if spec.n_feedback:
        w_ext[:, :, spec.n_inputs :] *= spec.feedback_scale
    w_rec = np.ascontiguousarray(w[:, :, n_ext:])
    bias = np.ascontiguousarray(units[..., S].reshape(n, G * C))
    if spec.peepholes:
        peep = np.ascontiguousarray(per_cell[:, :, G * (S + 1) :].transpose(0, 2, 1))
    else:
        peep = np.zeros((n, G - 1, C))
    return LSTMWeights(w_ext=w_ext, w_rec=w_rec, bias=bias, peep=peep)


def _external_drive(weights: LSTMWeights, sources: np.ndarray) -> np.ndarray:
    """Bias plus the contribution of shared external sources.

    sources : (T, n_ext) inputs and raw feedback, the same for every genome -> (n, T, G*C)
    """
    n, GC, n_ext = weights.w_ext.shape
    drive = np.broadcast_to(weights.bias[:, None, :], (n, sources.shape[0], GC)).copy()
    if n_ext:
        with np.errstate(over="ignore", invalid="ignore"):  # non-finite genomes score +inf later
            drive += np.matmul(sources[None, :, :], weights.w_ext.transpose(0, 2, 1))
    return drive


def _cell_step(spec: LSTMSpec, weights: LSTMWeights, pre: np.ndarray, state: LSTMState) -> LSTMState:
    """Advance every cell one step given the units' pre-activations without peepholes, pre (n, G*C)."""
    C = spec.cells
    pre = pre + np.matmul(weights.w_rec, state.h[:, :, None])[:, :, 0]
    z = np.tanh(pre[:, :C])
    i = sigmoid(pre[:, C : 2 * C] + weights.peep[:, 0] * state.c)
    if spec.forget_gate:
        f = sigmoid(pre[:, 2 * C : 3 * C] + weights.peep[:, 1] * state.c)
        c = f * state.c + i * z
    else:
        c = state.c + i * z
    o = sigmoid(pre[:, -C:] + weights.peep[:, -1] * c)
    return LSTMState(h=o * np.tanh(c), c=c)


def external_sources(spec: LSTMSpec, inputs: np.ndarray | None, feedback: np.ndarray | None,
                     steps: int) -> np.ndarray:
    """Stack the shared external sources [u(t), y(t-1)] of a teacher-forced run, checking their shapes:
    inputs (steps, n_inputs) or None, feedback (steps, n_outputs) or None -> (steps, n_inputs + n_feedback)."""
    parts = []
    if spec.n_inputs:
        if inputs is None or inputs.shape != (steps, spec.n_inputs):
            got = None if inputs is None else inputs.shape
            raise ValueError(f"inputs must have shape ({steps}, {spec.n_inputs}), got {got}")
        parts.append(np.asarray(inputs, dtype=np.float64))
    if spec.n_feedback:
        if feedback is None or feedback.shape != (steps, spec.n_outputs):
            got = None if feedback is None else feedback.shape
            raise ValueError(f"feedback must have shape ({steps}, {spec.n_outputs}), got {got}")
        parts.append(np.asarray(feedback, dtype=np.float64))
    if not parts:
        return np.zeros((steps, 0))
    return np.concatenate(parts, axis=1)


def teacher_forced(
    spec: LSTMSpec,
    weights: LSTMWeights,
    steps: int,
    inputs: np.ndarray | None = None,
    feedback: np.ndarray | None = None,
    state: LSTMState | None = None,
) -> tuple[np.ndarray, LSTMState]:
    """Run the population with inputs and fed-back values that are the same for every genome.

    Parameters
    ----------
    weights : LSTMWeights of n genomes
    steps : int
        Sequence length T.
    inputs : (T, n_inputs) or None
    feedback : (T, n_outputs) or None
        The value fed back at each step, i.e. the *previous* target y(t-1) (zeros at t = 0).
    state : LSTMState or None
        Initial state, zeros by default.

    Returns
    -------
    states : (n, T, cells)
        Cell outputs h(t) for every step.
    final : LSTMState
        The state after the last step.
    """
    n = weights.bias.shape[0]
    drive = _external_drive(weights, external_sources(spec, inputs, feedback, steps))
    state = LSTMState.zeros(n, spec.cells) if state is None else state
    states = np.empty((n, steps, spec.cells))
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            state = _cell_step(spec, weights, drive[:, t], state)
            states[:, t] = state.h
    return states, state


def lag_matrix(sources: np.ndarray, lags: int) -> np.ndarray:
    """Row t is [x(t), x(t-1), ..., x(t-lags+1)], zeros before the first step: sources (T, E) -> (T, lags * E)."""
    T, E = sources.shape
    padded = np.concatenate([np.zeros((max(lags - 1, 0), E)), sources])
    return np.concatenate([padded[lags - 1 - lag : lags - 1 - lag + T] for lag in range(lags)], axis=1) \
        if lags else np.zeros((T, 0))


def lag_view(sources: np.ndarray, lags: int) -> np.ndarray:
    """:func:`lag_matrix` as a read-only view: sources (T, E) -> (T, lags * E), equal to it entry for entry.

    The view reads one zero-padded, time-reversed copy of the sources, (T + lags - 1, E) floats where the lag matrix
    holds T * lags * E: in the reversed copy the lags x(t), x(t-1), ... of step t are consecutive rows, so each row
    of the view is a window of it (consecutive rows overlap) and the view is those windows in reverse order.

    It is not contiguous (a negative row stride): numpy's matmul reads it without BLAS, with other rounding than on
    a contiguous copy; slice it and copy the slice (``np.ascontiguousarray``) where that matters.
    """
    sources = np.asarray(sources, dtype=np.float64)
    T, E = sources.shape
    if lags == 0 or E == 0 or T == 0:
        return np.zeros((T, lags * E))
    reversed_padded = np.zeros((T + lags - 1, E))  # row i is x(T-1-i); zeros for the steps before the first
    reversed_padded[:T] = sources[::-1]
    step = reversed_padded.strides[0]
    windows = as_strided(reversed_padded, shape=(T, lags * E), strides=(step, reversed_padded.strides[1]),
                         writeable=False)  # row i is [x(T-1-i), x(T-2-i), ..., x(T-lags-i)]
    return windows[::-1]


def direct_features(spec: LSTMSpec, sources: np.ndarray) -> np.ndarray:
    """The readout's direct view of the external sources: row t is [x_e(t), x_e(t-1), ..., x_e(t-L+1)].

    sources : (T, n_external) as fed to the cells, unscaled -> (T, n_direct), a read-only :func:`lag_view` (O(T)
    memory, not O(T * L)); zeros before the first step.
    """
    return lag_view(sources, spec.readout_lags)


def pool_features(spec: LSTMSpec, states: np.ndarray, carry: PoolCarry | None) -> tuple[np.ndarray, PoolCarry]:
    """What a pooled readout sees of the cells at every step: states (n, T, cells) of steps that continue ``carry``
    (None: the sequence starts here) -> (features (n, T, cell_features), the carry after them). The features of
    step t are, in :data:`POOLS` order, h(t), the mean of h over the sequence up to t, and its element-wise maximum.
    """
    n, steps, cells = states.shape
    carry = PoolCarry.zeros(n, cells) if carry is None else carry
    parts = []
    if steps == 0:
        return np.zeros((n, 0, spec.cell_features)), carry
    total = carry.total[:, None, :] + np.cumsum(states, axis=1)
    largest = np.maximum(carry.largest[:, None, :], np.maximum.accumulate(states, axis=1))
    counts = carry.count + np.arange(1, steps + 1)
    for pool in spec.pools:
        parts.append(states if pool == "last" else total / counts[None, :, None] if pool == "mean" else largest)
    features = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=2)
    return features, PoolCarry(total[:, -1].copy(), largest[:, -1].copy(), carry.count + steps)


def readout_outputs(spec: LSTMSpec, states: np.ndarray, readout: np.ndarray, direct: np.ndarray | None = None):
    """Outputs of a linear readout: states (n, T, cell_features) (the cell outputs, or a pooled readout's features:
    :func:`pool_features`), readout (n, readout_rows, m), direct (T, n_direct) shared by the genomes -> (n, T, m).
    The bias row is zero when the readout has none, so adding it is always right."""
    C = spec.cell_features
    outputs = np.matmul(states, readout[:, :C]) + readout[:, -1:]
    if spec.n_direct:
        outputs += np.matmul(direct[None], readout[:, C:-1])
    return outputs


def closed_loop(
    spec: LSTMSpec,
    weights: LSTMWeights,
    readout: np.ndarray,
    state: LSTMState,
    first_feedback: np.ndarray,
    steps: int,
    inputs: np.ndarray | None = None,
    source_history: np.ndarray | None = None,
) -> np.ndarray:
    """Generate ``steps`` outputs, feeding each output back as the next step's input.

    Parameters
    ----------
    readout : (n, readout_rows, n_outputs)
        Output weights per genome; the last row is the bias (zero if the readout has none).
    state : LSTMState
        State after teacher forcing (not modified).
    first_feedback : (n_outputs,) or (n, n_outputs)
        The value fed back at the first generated step (the last known target).
    inputs : (steps, n_inputs) or None
        External inputs during generation.
    source_history : (readout_lags - 1, n_external) or None
        External sources of the steps before the first generated one, for the readout's direct view (zeros if None).

    Returns
    -------
    outputs : (n, steps, n_outputs)
    """
    if not spec.feedback:
        raise ValueError("closed-loop generation needs an LSTMSpec with feedback=True")
    n, C = state.h.shape
    L, E, D = spec.readout_lags, spec.n_external, spec.n_direct
    sources_in = external_sources(spec, inputs, np.zeros((steps, spec.n_outputs)), steps)[:, : spec.n_inputs]
    w_in = weights.w_ext[:, :, : spec.n_inputs]
    w_fb = weights.w_ext[:, :, spec.n_inputs :]
    input_weights = LSTMWeights(w_in, weights.w_rec, weights.bias, weights.peep)
    y = np.broadcast_to(np.asarray(first_feedback, dtype=np.float64), (n, spec.n_outputs)).copy()
    outputs = np.empty((n, steps, spec.n_outputs))
    w_h, w_d, w_b = readout[:, :C, :], readout[:, C : C + D, :], readout[:, -1, :]
    if L:
        lagged = np.broadcast_to(history_rows(spec, source_history), (n, L - 1, E)).copy()
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            if t % DRIVE_STEPS == 0:  # the inputs' drive of the next steps only: (n, steps, G*C) may not fit
                drive = _external_drive(input_weights, sources_in[t : t + DRIVE_STEPS])
            pre = drive[:, t % DRIVE_STEPS] + np.matmul(w_fb, y[:, :, None])[:, :, 0]
            state = _cell_step(spec, weights, pre, state)
            if L:
                current = np.concatenate([np.broadcast_to(sources_in[t], (n, spec.n_inputs)), y], axis=1)
                window = np.concatenate([current[:, None], lagged], axis=1)  # (n, L, E): x_e(t), x_e(t-1), ...
                y = (np.matmul(state.h[:, None, :], w_h)[:, 0, :]
                     + np.matmul(window.reshape(n, 1, D), w_d)[:, 0, :] + w_b)
                lagged = window[:, : L - 1]
            else:
                y = np.matmul(state.h[:, None, :], w_h)[:, 0, :] + w_b
            outputs[:, t] = y
    return outputs


def history_rows(spec: LSTMSpec, history: np.ndarray | None) -> np.ndarray:
    """The readout's view of the steps before a free run: history (k, n_external) oldest first, or None -> its last
    L-1 rows newest first, zero-padded to (L-1, n_external) (L = ``spec.readout_lags``)."""
    L, E = spec.readout_lags, spec.n_external
    rows = np.zeros((max(L - 1, 0), E))
    if history is not None and L > 1:
        recent = np.asarray(history, dtype=np.float64)[-(L - 1):][::-1]
        rows[: recent.shape[0]] = recent
    return rows
