"""The compiled (numba) kernels against the numpy reference of evolino.network, and kernel selection.

Both compiled kernels pass the same reference tests: the block kernel (``compiled``, evolino.kernels.blocks) and the
genome-per-iteration kernel (``compiled-scalar``, evolino.kernels.compiled). The block kernel is also held to
bit-for-bit equality with the genome-per-iteration kernel, whatever its block width, thread count and batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import evolino
from evolino.errors import ConfigError
from evolino.fitness import EvolinoProblem, evaluate_genomes, previous_targets
from evolino.kernels import default_kernel, forward_ops, resolve_kernel
from evolino.network import LSTMSpec, LSTMState, closed_loop, teacher_forced, unpack
from evolino.readout import ReadoutConfig
from evolino.tasks.base import Task

compiled = pytest.importorskip("evolino.kernels.compiled")
from evolino.kernels import blocks  # noqa: E402  (numba is there once compiled imported)

# The compiled kernels by their EVOLINO_KERNEL names; each reference test runs for both.
COMPILED = {"compiled": blocks, "compiled-scalar": compiled}

TOL = 1e-12

# (peepholes, forget_gate, feedback, n_inputs, n_outputs); 5 cells is not a multiple of the kernel's padding.
VARIANTS = [
    (True, True, True, 0, 1),
    (False, True, True, 0, 1),
    (True, False, True, 0, 1),
    (False, False, False, 2, 1),
    (True, True, True, 3, 2),
    (True, False, False, 1, 3),
    (False, True, True, 2, 2),
]


def _relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), 1e-300))


def _setup(variant, n=6, cells=5, steps=40, seed=0):
    peepholes, forget_gate, feedback, n_inputs, n_outputs = variant
    spec = LSTMSpec(n_inputs=n_inputs, cells=cells, n_outputs=n_outputs, peepholes=peepholes,
                    forget_gate=forget_gate, feedback=feedback, feedback_scale=0.3)
    rng = np.random.default_rng(seed)
    genomes = rng.normal(0.0, 0.5, (n, spec.dimension))
    inputs = rng.normal(size=(steps, n_inputs)) if n_inputs else None
    fb = rng.normal(size=(steps, n_outputs)) if feedback else None
    state = LSTMState(rng.normal(0, 0.5, (n, cells)), rng.normal(0, 0.5, (n, cells)))
    return spec, genomes, inputs, fb, state, rng


@pytest.mark.parametrize("kernel", COMPILED)
@pytest.mark.parametrize("variant", VARIANTS)
def test_teacher_forced_matches_numpy(variant, kernel):
    spec, genomes, inputs, fb, state, _ = _setup(variant)
    weights = unpack(spec, genomes)
    ref_states, ref_final = teacher_forced(spec, weights, 40, inputs=inputs, feedback=fb, state=state.copy())
    got_states, got_final = COMPILED[kernel].teacher_forced(spec, weights, 40, inputs=inputs, feedback=fb,
                                                            state=state)
    assert got_states.shape == ref_states.shape
    assert _relative(ref_states, got_states) < TOL
    assert _relative(ref_final.h, got_final.h) < TOL
    assert _relative(ref_final.c, got_final.c) < TOL


@pytest.mark.parametrize("kernel", COMPILED)
@pytest.mark.parametrize("variant", [v for v in VARIANTS if v[2]])
def test_closed_loop_matches_numpy(variant, kernel):
    spec, genomes, inputs, _, state, rng = _setup(variant)
    weights = unpack(spec, genomes)
    readout = rng.normal(0, 0.3, (genomes.shape[0], spec.cells + 1, spec.n_outputs))
    first = rng.normal(size=spec.n_outputs)
    ref = closed_loop(spec, weights, readout, state, first, 40, inputs=inputs)
    before = state.copy()
    got = COMPILED[kernel].closed_loop(spec, weights, readout, state, first, 40, inputs=inputs)
    assert got.shape == (genomes.shape[0], 40, spec.n_outputs)
    assert _relative(ref, got) < TOL
    # The caller's state is not modified.
    np.testing.assert_array_equal(state.h, before.h)
    np.testing.assert_array_equal(state.c, before.c)
    again = COMPILED[kernel].closed_loop(spec, weights, readout, state, first, 40, inputs=inputs)
    np.testing.assert_array_equal(got, again)


@pytest.mark.parametrize("kernel", COMPILED)
def test_long_run_with_large_cells_matches_numpy(kernel):
    """Several padding blocks of the scalar kernel (C = 19 -> 24) and a few hundred steps."""
    spec, genomes, _, fb, _, _ = _setup((True, True, True, 0, 1), n=3, cells=19, steps=300)
    weights = unpack(spec, genomes)
    ref, _ = teacher_forced(spec, weights, 300, feedback=fb)
    got, _ = COMPILED[kernel].teacher_forced(spec, weights, 300, feedback=fb)
    assert _relative(ref, got) < TOL


@pytest.mark.parametrize("kernel", COMPILED)
def test_compiled_result_does_not_depend_on_batch(kernel):
    module = COMPILED[kernel]
    spec, genomes, inputs, fb, _, rng = _setup((True, True, True, 1, 2), n=9)
    weights_all = unpack(spec, genomes)
    states_all, final_all = module.teacher_forced(spec, weights_all, 40, inputs=inputs, feedback=fb)
    readout = rng.normal(0, 0.3, (9, spec.cells + 1, spec.n_outputs))
    out_all = module.closed_loop(spec, weights_all, readout, final_all, fb[-1], 30, inputs=inputs[:30])
    for rows in ([4], [2, 3, 4], [8, 0, 5, 1], list(range(9))[::-1]):
        sub = unpack(spec, genomes[rows])
        states, final = module.teacher_forced(spec, sub, 40, inputs=inputs, feedback=fb)
        np.testing.assert_array_equal(states, states_all[rows])
        out = module.closed_loop(spec, sub, readout[rows], final, fb[-1], 30, inputs=inputs[:30])
        np.testing.assert_array_equal(out, out_all[rows])


def _small_supervised_task(rng) -> Task:
    u = rng.normal(size=(120, 2))
    y = np.stack([np.roll(u[:, 0], 1) * 0.5 + 0.1 * u[:, 1], np.tanh(u[:, 1])], axis=1)
    return Task("toy", train=[(y[:80], u[:80])], validation=[(y[80:], u[80:])], washout=10)


@pytest.mark.parametrize("kernel", COMPILED)
@pytest.mark.parametrize("task_name", ["mso2", "toy"])
def test_fitness_agrees_between_kernels_and_is_batch_independent(task_name, kernel):
    rng = np.random.default_rng(3)
    task = evolino.make_task("mso2") if task_name == "mso2" else _small_supervised_task(rng)
    spec = LSTMSpec(n_inputs=task.n_inputs, cells=4, n_outputs=task.n_outputs, feedback=task.generative)
    genomes = rng.normal(0, 0.3, (7, spec.dimension))
    config = ReadoutConfig(ridge=1e-6)  # well-conditioned, so rounding differences stay at rounding level
    ref = evaluate_genomes(genomes, spec, task, config, kernel="numpy")
    got = evaluate_genomes(genomes, spec, task, config, kernel=kernel)
    assert np.all(np.isfinite(ref))
    assert _relative(ref, got) < 1e-9
    sub = evaluate_genomes(genomes[[5, 1, 2]], spec, task, config, kernel=kernel)
    np.testing.assert_array_equal(sub, got[[5, 1, 2]])


def test_non_finite_and_huge_weights_do_not_crash():
    task = evolino.make_task("mso2")
    spec = LSTMSpec(cells=3)
    rng = np.random.default_rng(1)
    genomes = rng.normal(0, 0.3, (4, spec.dimension))
    genomes[1] *= 1e200
    genomes[2, 5] = np.nan
    genomes[3, 0] = np.inf
    for kernel in ("numpy", *COMPILED):
        errors = evaluate_genomes(genomes, spec, task, ReadoutConfig(), kernel=kernel)
        assert np.isfinite(errors[0])
        assert np.all(np.isinf(errors[2:]))
        assert not np.any(np.isnan(errors))


def test_fast_tanh_is_accurate():
    from numba import njit

    from evolino.kernels._tanh import fast_tanh

    @njit
    def apply(x):
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            out[i] = fast_tanh(x[i])
        return out

    tiny_to_large = np.geomspace(1e-300, 30, 2000)
    x = np.concatenate([np.linspace(-25, 25, 20001), tiny_to_large, -tiny_to_large, [0.625, -0.625, 20.0],
                        np.random.default_rng(0).normal(0.0, 3.0, 100_000)])
    ref = np.tanh(x)
    got = apply(x)
    assert np.max(np.abs(got - ref) / np.abs(np.where(ref == 0, 1, ref))) < 1e-15
    special = apply(np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 1e300, -1e300]))
    assert special[0] == 1.0 and special[1] == -1.0 and np.isnan(special[2]) and special[3] == 0.0
    assert np.signbit(special[4]) and special[4] == 0.0 and special[5] == 1.0 and special[6] == -1.0


def test_kernel_selection(monkeypatch):
    monkeypatch.delenv("EVOLINO_KERNEL", raising=False)
    assert default_kernel() == "auto"
    assert resolve_kernel() == "compiled"  # numba is installed here
    assert forward_ops("numpy").name == "numpy"
    assert forward_ops("compiled").name == "compiled" and forward_ops("compiled").prepare is blocks.block_weights
    assert forward_ops("compiled-scalar").prepare is compiled.kernel_weights
    monkeypatch.setenv("EVOLINO_KERNEL", "Compiled-Scalar")
    assert resolve_kernel() == "compiled-scalar"
    monkeypatch.setenv("EVOLINO_KERNEL", "NumPy")
    assert resolve_kernel() == "numpy"
    problem = EvolinoProblem(LSTMSpec(cells=2), evolino.make_task("mso2"))
    assert problem.kernel == "numpy"  # captured where the problem is made, so Ray workers use the same
    monkeypatch.setenv("EVOLINO_KERNEL", "fortran")
    with pytest.raises(ConfigError, match="unknown kernel 'fortran'"):
        resolve_kernel()
    with pytest.raises(ValueError, match="unknown kernel"):
        EvolinoProblem(LSTMSpec(cells=2), evolino.make_task("mso2"), kernel="fast")


@pytest.mark.parametrize("kernel", COMPILED)
@pytest.mark.parametrize("bias", [True, False])
def test_folded_readout_statistics_match_the_householder_ones(bias, kernel):
    """The compiled kernels fold rows into R by Householder reflections while they run; R^T R and R^T Q^T D must equal
    the numpy path's (X^T X and X^T D of the stored states), and so must the solved readout."""
    from evolino.network import external_sources
    from evolino.readout import ReadoutStats

    rng = np.random.default_rng(7)
    spec = LSTMSpec(n_inputs=1, cells=5, n_outputs=2, feedback=True, feedback_scale=0.3)
    genomes = rng.normal(0, 0.5, (4, spec.dimension))
    steps, washout = 60, 15
    inputs, targets = rng.normal(size=(steps, 1)), rng.normal(size=(steps, 2))
    weights = unpack(spec, genomes)
    states, _ = teacher_forced(spec, weights, steps, inputs=inputs, feedback=previous_targets(targets))
    reference = ReadoutStats(4, spec.cells + 1, 2)
    reference.add_states(states[:, washout:], targets[washout:], bias)

    folded = ReadoutStats(4, spec.cells + 1, 2)
    r, qtd = folded.square_factor()
    rows = np.arange(steps) >= washout
    sources = external_sources(spec, inputs, previous_targets(targets), steps)
    final = COMPILED[kernel].fold_readout(spec, weights, sources, targets, r, qtd, rows, bias, rss=folded.rss)
    folded.set_factor(r, qtd, steps - washout)
    gram = lambda a, b: np.matmul(a.transpose(0, 2, 1), b)  # noqa: E731
    np.testing.assert_allclose(gram(folded.r, folded.r), gram(reference.r, reference.r), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gram(folded.r, folded.qtd), gram(reference.r, reference.qtd), rtol=1e-12,
                               atol=1e-12)
    assert np.all(np.diagonal(folded.r, axis1=1, axis2=2) >= 0) and np.allclose(np.tril(folded.r, -1), 0)
    config = ReadoutConfig(rcond=1e-12, bias=bias)
    np.testing.assert_allclose(folded.solve(config), reference.solve(config), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(final.h, states[:, -1], rtol=1e-12, atol=1e-14)
    assert folded.samples == reference.samples == steps - washout
    # The residual sum of squares of a solution: what the rotations left over plus what the factor cannot explain
    # (the two paths split it differently when a column is all zeros, as without a bias).
    total = lambda stats, w: np.sum((stats.r @ w - stats.qtd) ** 2, axis=(1, 2)) + stats.rss.sum(axis=1)  # noqa
    weights = reference.solve(config)
    np.testing.assert_allclose(total(folded, weights), total(reference, weights), rtol=1e-10)


@pytest.mark.parametrize("kernel", COMPILED)
def test_folded_readout_reads_the_lagged_sources_and_their_history(kernel):
    """With readout lags the kernel builds each row's direct view from the sources and, before the first step, the
    history: a line folded in two pieces gives the statistics of the lag matrix's rows."""
    from evolino.network import external_sources, lag_matrix

    module = COMPILED[kernel]
    from evolino.readout import ReadoutStats

    rng = np.random.default_rng(8)
    spec = LSTMSpec(n_inputs=2, cells=3, n_outputs=1, feedback=True, feedback_scale=0.3, readout_lags=4)
    genomes = rng.normal(0, 0.5, (3, spec.dimension))
    steps, washout, cut = 70, 5, 33
    inputs, targets = rng.normal(size=(steps, 2)), rng.normal(size=(steps, 1))
    sources = external_sources(spec, inputs, previous_targets(targets), steps)
    states, _ = teacher_forced(spec, unpack(spec, genomes), steps, inputs=inputs, feedback=previous_targets(targets))
    reference = ReadoutStats(3, spec.readout_rows, 1)
    reference.add_states(states[:, washout:], targets[washout:], True, lag_matrix(sources, 4)[washout:])

    folded = ReadoutStats(3, spec.readout_rows, 1)
    rows = np.arange(steps) >= washout
    state = None
    for start, stop in ((0, cut), (cut, steps)):
        r, qtd = folded.square_factor()
        state = module.fold_readout(spec, unpack(spec, genomes), sources[start:stop], targets[start:stop], r, qtd,
                                    rows[start:stop], True, sources[:start], state, folded.rss)
        folded.set_factor(r, qtd, int(rows[start:stop].sum()))
    gram = lambda a, b: np.matmul(a.transpose(0, 2, 1), b)  # noqa: E731
    np.testing.assert_allclose(gram(folded.r, folded.r), gram(reference.r, reference.r), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gram(folded.r, folded.qtd), gram(reference.r, reference.qtd), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(state.h, states[:, -1], rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="r must be"):
        module.fold_readout(spec, unpack(spec, genomes), sources, targets, *ReadoutStats(3, 4, 1).square_factor(),
                            rows, True)


@pytest.mark.parametrize("block", [1, 4, 6])
def test_the_block_fold_solves_least_squares_also_for_tiny_rows(block):
    """Folding rows in blocks (the last one partial) gives the R factor and solution of the stacked rows; rows of
    1e-200 square to 0 in floating point, and must neither divide by zero nor be taken for zeros."""
    from numba import njit

    from evolino.kernels._numba_lstm import _fold_block

    fold = njit(error_model="numpy")(_fold_block.py_func)
    rng = np.random.default_rng(11)
    rows, targets = rng.normal(size=(7, 3)), rng.normal(size=(7, 1))
    rows[2, 0] = 0.0  # an exact zero in one row of a block
    for scale in (1.0, 1e-200):
        r, qtd, rss = np.zeros((3, 3)), np.zeros((3, 1)), np.zeros(1)
        for start in range(0, len(rows), block):
            chunk = slice(start, start + block)
            fold(r, qtd, rss, np.ascontiguousarray(rows[chunk].T * scale),
                 np.ascontiguousarray(targets[chunk].T * scale), len(rows[chunk]))
        assert np.isfinite(r).all() and np.isfinite(qtd).all() and np.all(np.tril(r, -1) == 0)
        np.testing.assert_allclose((r.T @ r) / scale**2 if scale == 1.0 else (r / scale).T @ (r / scale),
                                   rows.T @ rows, rtol=1e-12)
        solution = np.linalg.lstsq(rows, targets, rcond=None)[0]
        np.testing.assert_allclose(np.linalg.solve(r, qtd), solution, rtol=1e-10)
        if scale == 1.0:  # what is left over is the residual sum of squares
            np.testing.assert_allclose(rss, np.sum((rows @ solution - targets) ** 2), rtol=1e-10)
            # rows far below R's scale (their squares underflow) change nothing, and break nothing
            fold(r, qtd, rss, np.ascontiguousarray(rows[:block].T * 1e-170),
                 np.ascontiguousarray(targets[:block].T * 1e-170), block)
            assert np.isfinite(r).all() and np.isfinite(qtd).all()
            np.testing.assert_allclose(np.linalg.solve(r, qtd), solution, rtol=1e-10)


def test_the_kernels_cache_follows_the_inlined_tanh():
    """numba keys a cached kernel to its own file: the kernel files carry the fingerprints of the files they inline
    (_tanh.py; _simd.py for the block kernel), so that a change there changes the kernel file and no stale compiled
    kernel is loaded."""
    import hashlib

    from evolino.kernels import _numba_blocks, _numba_lstm

    folder = Path(_numba_lstm.__file__).parent
    for module, name, source in ((_numba_lstm, "TANH_FINGERPRINT", "_tanh.py"),
                                 (_numba_blocks, "TANH_FINGERPRINT", "_tanh.py"),
                                 (_numba_blocks, "SIMD_FINGERPRINT", "_simd.py")):
        digest = hashlib.sha256((folder / source).read_bytes()).hexdigest()[:16]
        assert getattr(module, name) == digest, (
            f"update {name} in {Path(module.__file__).name} to sha256({source})[:16] = {digest}")


# ------------------------------------------------------------------------------------------------ the block kernel


def _lagged_spec(variant, lags):
    peepholes, forget_gate, feedback, n_inputs, n_outputs = variant
    return LSTMSpec(n_inputs=n_inputs, cells=5, n_outputs=n_outputs, peepholes=peepholes, forget_gate=forget_gate,
                    feedback=feedback, feedback_scale=0.3, readout_lags=lags)


def _every_pass(module, spec, weights, rng_seed=4, steps=50):
    """Teacher-forced states, a fold of random rows with lags and history on top of earlier statistics, and a closed
    loop with history: every array the kernel returns, for one population."""
    from evolino.network import external_sources
    from evolino.readout import ReadoutStats

    n = (weights.n if hasattr(weights, "n") else weights.bias.shape[0])
    rng = np.random.default_rng(rng_seed)
    inputs = rng.normal(size=(steps, spec.n_inputs)) if spec.n_inputs else None
    fb = rng.normal(size=(steps, spec.n_outputs)) if spec.feedback else None
    targets = rng.normal(size=(steps, spec.n_outputs))
    state = LSTMState(rng.normal(0, 0.5, (n, spec.cells)), rng.normal(0, 0.5, (n, spec.cells)))
    history = rng.normal(size=(4, spec.n_external))
    rows = (np.arange(steps) >= 7) & (rng.random(steps) > 0.2)
    stats = ReadoutStats(n, spec.readout_rows, spec.n_outputs)
    stats.add_states(rng.normal(size=(n, 3, spec.cells)), rng.normal(size=(3, spec.n_outputs)), True,
                     rng.normal(size=(3, spec.n_direct)) if spec.n_direct else None)
    r, qtd = stats.square_factor()
    sources = external_sources(spec, inputs, fb, steps)
    final = module.fold_readout(spec, weights, sources, targets, r, qtd, rows, True, history, state, stats.rss)
    states, last = module.teacher_forced(spec, weights, steps, inputs=inputs, feedback=fb, state=state)
    out = [states, last.h, last.c, r, qtd, stats.rss, final.h, final.c]
    if spec.feedback:
        readout = rng.normal(0, 0.3, (n, spec.readout_rows, spec.n_outputs))
        out.append(module.closed_loop(spec, weights, readout, state, rng.normal(size=spec.n_outputs), 30,
                                      inputs=None if inputs is None else inputs[:30], source_history=history))
    return out


@pytest.mark.parametrize("lanes", blocks.LANE_CHOICES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_blocks_are_bit_identical_to_the_genome_per_iteration_kernel(variant, lanes):
    """Each lane of the block kernel does the scalar kernel's operations in its order: every state, readout factor and
    output is equal bit for bit, for every network variant, with readout lags, in blocks of 4, 8 and 16 genomes (11
    genomes: the last block is padded)."""
    for lags in (0, 3) if variant[2] or variant[3] else (0,):
        spec = _lagged_spec(variant, lags)
        weights = unpack(spec, np.random.default_rng(1).normal(0, 0.5, (11, spec.dimension)))
        expected = _every_pass(compiled, spec, weights)
        got = _every_pass(blocks, spec, blocks.block_weights(weights, lanes))
        for a, b in zip(expected, got, strict=True):
            np.testing.assert_array_equal(a, b)


def test_a_thread_limit_set_before_numba_is_loaded_holds():
    """benchmarks/jax_peer.py and Ray's actors set the limit first thing in a fresh process, before any kernel ran."""
    import os
    import subprocess
    import sys

    probe = ("from evolino.kernels import limit_compiled_threads; limit_compiled_threads(1); "
             "import evolino, numba; evolino.evaluate_genomes; print(numba.get_num_threads())")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                          env={**os.environ, "NUMBA_NUM_THREADS": "2"})
    assert done.stdout.strip() == "1"


def test_blocks_do_not_depend_on_threads_lanes_or_batch(monkeypatch):
    """A genome's fitness is the same bit for bit on 1 and 2 threads, in blocks of any width, in any batch (alone, in
    a subset, permuted) and in Ray-like sub-batches; and equal to the genome-per-iteration kernel's."""
    import numba

    from evolino.kernels import limit_compiled_threads

    task = evolino.make_task("mso2")
    spec = LSTMSpec(cells=6, readout_lags=2)
    genomes = np.random.default_rng(5).normal(0, 0.3, (21, spec.dimension))
    config = ReadoutConfig(ridge="auto")
    reference = evaluate_genomes(genomes, spec, task, config, kernel="compiled-scalar")
    assert np.isfinite(reference).sum() > 10
    threads = [1, 2] if numba.config.NUMBA_NUM_THREADS >= 2 else [1]
    before = numba.get_num_threads()
    try:
        for count in threads:
            limit_compiled_threads(count)
            for lanes in blocks.LANE_CHOICES:
                monkeypatch.setattr(blocks, "LANES", lanes)
                np.testing.assert_array_equal(evaluate_genomes(genomes, spec, task, config, kernel="compiled"),
                                              reference)
        monkeypatch.setattr(blocks, "LANES", 8)
        for rows in ([3], [20, 0, 7], list(range(21))[::-1], list(range(9))):
            np.testing.assert_array_equal(evaluate_genomes(genomes[rows], spec, task, config, kernel="compiled"),
                                          reference[rows])
        chunks = np.concatenate([evaluate_genomes(genomes[a:a + 5], spec, task, config, kernel="compiled")
                                 for a in range(0, 21, 5)])
        np.testing.assert_array_equal(chunks, reference)
    finally:
        numba.set_num_threads(before)


def test_the_lane_tanh_is_the_scalar_tanh_bit_for_bit():
    from numba import njit

    from evolino.kernels._simd import Lanes, load, store
    from evolino.kernels._tanh import fast_tanh, fast_tanh_lanes

    @njit
    def scalar(x):
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            out[i] = fast_tanh(x[i])
        return out

    @njit
    def lanes(x, width):
        out = np.empty_like(x)
        for i in range(0, x.shape[0], 8):
            store(out, i, fast_tanh_lanes(load(x, i, width)))
        return out

    tiny_to_large = np.geomspace(1e-320, 1e300, 4000)
    x = np.concatenate([np.linspace(-45, 45, 20001), tiny_to_large, -tiny_to_large, [np.inf, -np.inf, np.nan, 0.0,
                        -0.0, 20.0, -20.0, 19.999999999999996], np.random.default_rng(0).normal(0.0, 3.0, 100_000)])
    x = np.concatenate([x, np.zeros(-x.size % 8)])
    expected = scalar(x)
    got = lanes(x, Lanes(8))
    assert np.array_equal(expected.view(np.int64), got.view(np.int64))  # same bits, NaN and signed zeros included


@pytest.mark.parametrize("lanes", [4, 8])
def test_the_lane_fold_is_the_scalar_fold_in_every_lane(lanes):
    """The Householder fold of a block, lane by lane, with the cases whose scalar code branches: a column that is zero
    in some lanes only, rows so tiny that their squares underflow in some lanes, a negative diagonal; against the
    scalar fold of each lane's rows."""
    from numba import njit

    from evolino.kernels._numba_blocks import _fold_block as lane_fold
    from evolino.kernels._numba_blocks import _positive_diagonal as lane_positive
    from evolino.kernels._numba_lstm import _fold_block as scalar_fold
    from evolino.kernels._numba_lstm import _positive_diagonal as scalar_positive
    from evolino.kernels._simd import Lanes

    @njit
    def lane_pass(r, qtd, rss, block, targets, count, width):
        lane_fold(r, qtd, rss, block, targets, count, width)
        lane_positive(r, qtd, width)

    @njit
    def scalar_pass(r, qtd, rss, block, targets, count):
        scalar_fold(r, qtd, rss, block, targets, count)
        scalar_positive(r, qtd)

    rng = np.random.default_rng(12)
    p, m, count = 5, 2, 7
    for trial in range(6):
        rows = rng.normal(size=(lanes, p, 16))
        targets = rng.normal(size=(lanes, m, 16))
        r0 = np.triu(rng.normal(size=(lanes, p, p))) * (trial % 2)  # zero factors too (the first fold of a line)
        qtd0 = rng.normal(size=(lanes, p, m)) * (trial % 2)
        rows[0, 2] = 0.0  # a zero column in lane 0 only
        rows[1, 3, :count] = 0.0
        rows[1 % lanes] *= 1e-200  # tiny rows in one lane
        rows[lanes - 1, 0, :] = -np.abs(rows[lanes - 1, 0, :])
        expected = []
        for lane in range(lanes):
            r, qtd, rss = r0[lane].copy(), qtd0[lane].copy(), np.zeros(m)
            scalar_pass(r, qtd, rss, rows[lane].copy(), targets[lane].copy(), count)
            expected.append((r, qtd, rss))
        r, qtd, rss = (np.ascontiguousarray(np.moveaxis(a, 0, -1)) for a in (r0, qtd0, np.zeros((lanes, m))))
        lane_pass(r, qtd, rss, np.ascontiguousarray(np.moveaxis(rows, 0, -1)),
                  np.ascontiguousarray(np.moveaxis(targets, 0, -1)), count, Lanes(lanes))
        for lane, (er, eq, es) in enumerate(expected):
            np.testing.assert_array_equal(r[..., lane], er)
            np.testing.assert_array_equal(qtd[..., lane], eq)
            np.testing.assert_array_equal(rss[..., lane], es)


def test_block_layout_round_trips_and_pads_with_zeros():
    values = np.arange(7 * 3 * 2, dtype=float).reshape(7, 3, 2)
    packed = blocks.to_blocks(values, 4)
    assert packed.shape == (2, 3, 2, 4) and packed.flags.c_contiguous
    np.testing.assert_array_equal(packed[1, :, :, 3], 0.0)
    np.testing.assert_array_equal(packed[1, :, :, 2], values[6])
    np.testing.assert_array_equal(blocks.from_blocks(packed, 7), values)
    for n in (4, 8, 5):  # whole blocks (one copy) and a padded last block, against a loop over genomes
        expected = np.zeros((-(-n // 4), 3, 2, 4))
        for genome in range(n):
            expected[genome // 4, :, :, genome % 4] = values[genome % 7] + genome
        packed = blocks.to_blocks(np.stack([values[g % 7] + g for g in range(n)]), 4)
        assert packed.flags.c_contiguous
        np.testing.assert_array_equal(packed, expected)
    spec = LSTMSpec(n_inputs=2, cells=3, forget_gate=False)
    weights = blocks.block_weights(unpack(spec, np.ones((5, spec.dimension))), 4)
    assert weights.n == 5 and weights.blocks == 2 and weights.lanes == 4 and not weights.forget_gate
    np.testing.assert_array_equal(weights.w[..., 2 * 4 : 3 * 4], 0.0)  # no forget gate: its unit is zero
    with pytest.raises(ValueError, match="lanes must be one of"):
        blocks.block_weights(unpack(spec, np.ones((5, spec.dimension))), 5)


@pytest.mark.parametrize("lanes", blocks.LANE_CHOICES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_genomes_gathered_into_blocks_are_the_unpacked_weights_bit_for_bit(variant, lanes):
    """``genome_blocks`` (one gather from the genomes) gives the arrays of ``block_weights(unpack(...))`` bit for bit:
    every network variant, with readout lags, a full and a padded last block, NaN, infinities and -0.0 kept."""
    for lags in (0, 3) if variant[2] or variant[3] else (0,):
        spec = _lagged_spec(variant, lags)
        for n in (1, 11, 2 * lanes):
            genomes = np.random.default_rng(n).normal(0, 0.5, (n, spec.dimension))
            genomes[0, [0, -1]] = np.nan, -0.0
            genomes[-1, spec.dimension // 2] = np.inf
            expected = blocks.block_weights(unpack(spec, genomes), lanes)
            got = blocks.genome_blocks(spec, genomes, lanes)
            assert (got.n, got.lanes, got.blocks, got.forget_gate) == \
                (expected.n, expected.lanes, expected.blocks, expected.forget_gate)
            for a, b in ((expected.w, got.w), (expected.bias, got.bias), (expected.peep, got.peep)):
                assert a.shape == b.shape and a.tobytes() == b.tobytes()  # bit for bit, -0.0 and NaN included
    with pytest.raises(ValueError, match="genomes must have shape"):
        blocks.genome_blocks(spec, np.ones((3, spec.dimension + 1)))
