"""The JAX kernel against the numpy reference of evolino.network (the compiled kernel's reference checks), and its
selection."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import evolino
from evolino.errors import EvolinoError
from evolino.fitness import evaluate_genomes
from evolino.kernels import forward_ops, resolve_kernel
from evolino.network import LSTMSpec, LSTMState, closed_loop, teacher_forced, unpack
from evolino.readout import ReadoutConfig
from tests.test_kernels import TOL, VARIANTS, _relative, _setup, _small_supervised_task

jax_kernel = pytest.importorskip("evolino.kernels.jax_kernel")


@pytest.mark.parametrize("variant", VARIANTS)
def test_teacher_forced_matches_numpy(variant):
    spec, genomes, inputs, fb, state, _ = _setup(variant)
    weights = unpack(spec, genomes)
    ref_states, ref_final = teacher_forced(spec, weights, 40, inputs=inputs, feedback=fb, state=state.copy())
    got_states, got_final = jax_kernel.teacher_forced(spec, weights, 40, inputs=inputs, feedback=fb, state=state)
    assert got_states.shape == ref_states.shape and isinstance(got_states, np.ndarray)
    assert _relative(ref_states, got_states) < TOL
    assert _relative(ref_final.h, got_final.h) < TOL and _relative(ref_final.c, got_final.c) < TOL


@pytest.mark.parametrize("variant", [v for v in VARIANTS if v[2]])
@pytest.mark.parametrize("lags", [0, 1, 3])
def test_closed_loop_matches_numpy(variant, lags):
    peepholes, forget_gate, _, n_inputs, n_outputs = variant
    _, genomes, inputs, _, state, rng = _setup(variant)
    spec = LSTMSpec(n_inputs=n_inputs, cells=5, n_outputs=n_outputs, peepholes=peepholes, forget_gate=forget_gate,
                    feedback=True, feedback_scale=0.3, readout_lags=lags)
    weights = unpack(spec, genomes)
    readout = rng.normal(0, 0.3, (genomes.shape[0], spec.readout_rows, n_outputs))
    first = rng.normal(size=n_outputs)
    history = rng.normal(size=(4, spec.n_external))
    ref = closed_loop(spec, weights, readout, state, first, 40, inputs=inputs, source_history=history)
    got = jax_kernel.closed_loop(spec, weights, readout, state, first, 40, inputs=inputs, source_history=history)
    assert got.shape == (genomes.shape[0], 40, n_outputs)
    assert _relative(ref, got) < TOL


def test_long_run_with_large_cells_matches_numpy():
    spec, genomes, _, fb, _, _ = _setup((True, True, True, 0, 1), n=3, cells=19, steps=300)
    weights = unpack(spec, genomes)
    ref, _ = teacher_forced(spec, weights, 300, feedback=fb)
    got, _ = jax_kernel.teacher_forced(spec, weights, 300, feedback=fb)
    assert _relative(ref, got) < TOL


def test_result_does_not_depend_on_batch():
    """Each genome's result is the same whichever genomes share its batch: Ray's chunks give the serial errors."""
    spec, genomes, inputs, fb, _, rng = _setup((True, True, True, 1, 2), n=9)
    states_all, final_all = jax_kernel.teacher_forced(spec, unpack(spec, genomes), 40, inputs=inputs, feedback=fb)
    readout = rng.normal(0, 0.3, (9, spec.cells + 1, spec.n_outputs))
    out_all = jax_kernel.closed_loop(spec, unpack(spec, genomes), readout, final_all, fb[-1], 30, inputs=inputs[:30])
    for rows in ([4], [2, 3, 4], [8, 0, 5, 1]):
        sub = unpack(spec, genomes[rows])
        states, final = jax_kernel.teacher_forced(spec, sub, 40, inputs=inputs, feedback=fb)
        np.testing.assert_array_equal(states, states_all[rows])
        out = jax_kernel.closed_loop(spec, sub, readout[rows], final, fb[-1], 30, inputs=inputs[:30])
        np.testing.assert_array_equal(out, out_all[rows])


@pytest.mark.parametrize("task_name", ["mso2", "toy"])
def test_fitness_agrees_with_the_numpy_kernel(task_name):
    rng = np.random.default_rng(3)
    task = evolino.make_task("mso2") if task_name == "mso2" else _small_supervised_task(rng)
    spec = LSTMSpec(n_inputs=task.n_inputs, cells=4, n_outputs=task.n_outputs, feedback=task.generative)
    genomes = rng.normal(0, 0.3, (7, spec.dimension))
    config = ReadoutConfig(ridge=1e-6)
    ref = evaluate_genomes(genomes, spec, task, config, kernel="numpy")
    got = evaluate_genomes(genomes, spec, task, config, kernel="jax")
    assert np.all(np.isfinite(ref)) and _relative(ref, got) < 1e-9


def test_an_mso2_run_with_the_jax_kernel_ends_where_the_compiled_run_does(monkeypatch):
    # rcond 1e-9 keeps the readout out of the directions that rounding decides (at the default 1e-14 the kernels'
    # last-bit differences grow into percent-level differences of the errors, and CMA-ES's ranking then parts runs).
    results = {}
    for kernel in ("compiled", "jax"):
        monkeypatch.setenv("EVOLINO_KERNEL", kernel)
        results[kernel] = evolino.Evolino(generations=30, rcond=1e-9, seed=0).fit(evolino.make_task("mso2")).result_
    compiled, jax_run = results["compiled"], results["jax"]
    assert compiled.test_error < 1e-2
    assert jax_run.test_error == compiled.test_error  # the same best genome; its test is scored by the numpy kernel
    best = np.array([[row["best"] for row in run.history] for run in (compiled, jax_run)])
    assert _relative(best[0], best[1]) < 1e-3


def test_non_finite_and_huge_weights_do_not_crash():
    task = evolino.make_task("mso2")
    spec = LSTMSpec(cells=3)
    genomes = np.random.default_rng(1).normal(0, 0.3, (4, spec.dimension))
    genomes[1] *= 1e200
    genomes[2, 5] = np.nan
    genomes[3, 0] = np.inf
    errors = evaluate_genomes(genomes, spec, task, ReadoutConfig(), kernel="jax")
    assert np.isfinite(errors[0]) and np.all(np.isinf(errors[2:])) and not np.any(np.isnan(errors))


def test_selection_and_a_clear_error_without_jax(monkeypatch):
    assert resolve_kernel("jax") == "jax" and forward_ops("JAX").name == "jax"
    monkeypatch.setenv("EVOLINO_KERNEL", "jax")
    assert resolve_kernel() == "jax"
    monkeypatch.setitem(sys.modules, "evolino.kernels.jax_kernel", None)  # as if JAX were not installed
    with pytest.raises(EvolinoError, match='pip install "evolino\\[jax\\]"'):
        resolve_kernel("jax")
    assert jax_kernel.device().split(":")[0] in ("cpu", "gpu", "cuda", "rocm", "tpu")


def test_the_kernel_leaves_jax_in_float32_for_others():
    import jax.numpy as jnp

    state = LSTMState.zeros(1, 2)
    jax_kernel.teacher_forced(LSTMSpec(cells=2), unpack(LSTMSpec(cells=2), np.ones((1, LSTMSpec(cells=2).dimension))),
                              3, feedback=np.zeros((3, 1)), state=state)
    assert jnp.zeros(1).dtype == jnp.float32  # x64 only inside the kernel's calls: no global JAX setting changed
