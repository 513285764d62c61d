"""evolino's separable CMA-ES against pycma's own (the reference): the same genomes, bit for bit, generation after
generation, in both of pycma's step-size regimes (path length control below 300 genes, two-point adaptation from 300),
through ties, infinite errors and pycma's step-size redistribution; and where it hands the run to pycma."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from evolino.optimizers import make_optimizer
from evolino.optimizers.cmaes import PycmaSepCMAES
from evolino.optimizers.sep_cmaes import SepCMAES, strategy_parameters


def _ellipsoid(genomes: np.ndarray) -> np.ndarray:
    d = genomes.shape[1]
    return np.sum((genomes - 1.0) ** 2 * np.logspace(0, 3, d), axis=1)


def _errors(genomes: np.ndarray, generation: int) -> np.ndarray:
    """An ill-conditioned function with, every few generations, ties and infinite errors (diverged genomes)."""
    errors = _ellipsoid(genomes)
    if generation % 5 == 1:
        errors[1:4] = errors[1]
    if generation % 7 == 3:
        errors[0] = errors[-1] = np.inf
    return errors


def _run_side_by_side(dimension: int, popsize: int, generations: int, errors=_errors, sigma0: float = 0.3):
    x0 = np.random.default_rng(5).normal(size=dimension)
    mine = SepCMAES(x0, np.random.default_rng(1), popsize, sigma0=sigma0)
    pycma = PycmaSepCMAES(x0, np.random.default_rng(1), popsize, sigma0=sigma0)
    for generation in range(generations):
        genomes = mine.ask()
        np.testing.assert_array_equal(genomes, pycma.ask(), err_msg=f"generation {generation}")
        told = errors(genomes, generation)
        mine.tell(genomes, told)
        pycma.tell(genomes, told)
    assert mine.step_size == pycma.step_size
    np.testing.assert_array_equal(mine.best_genome, pycma.best_genome)
    return mine, pycma


@pytest.mark.parametrize("dimension, popsize, generations, rule", [
    (46, 40, 300, "csa"),     # an MSO-sized network of 4 cells: path length control
    (299, 12, 120, "csa"),
    (300, 12, 120, "tpa"),    # pycma switches to two-point adaptation at 300 genes
    (510, 40, 200, "tpa"),    # the default MSO2 network (10 cells)
])
def test_bit_for_bit_pycma(dimension, popsize, generations, rule):
    mine, _ = _run_side_by_side(dimension, popsize, generations)
    assert mine.pycma is None and mine.parameters["step_size_rule"] == rule


@pytest.mark.parametrize("dimension, popsize", [(10, 8), (400, 10)])
def test_runaway_step_size_is_redistributed_as_pycma_does(dimension, popsize):
    """On a linear slope σ grows without end; beyond 1e9 σ0 pycma moves it into the sampler's deviations."""
    mine, pycma = _run_side_by_side(dimension, popsize, 400, errors=lambda genomes, _: genomes.sum(axis=1),
                                    sigma0=1e-3)
    assert mine.sampler_std is not None and mine.sampler_std.min() > 1
    np.testing.assert_array_equal(mine.sampler_std, pycma.es.sm.standard_deviations)


def test_small_populations_and_pycma_options_are_pycma_own_runs():
    """Below 6 genomes pycma samples mirrored pairs, and options are pycma's: both run in pycma, identically."""
    assert strategy_parameters(20, 5) is None and strategy_parameters(20, 6) is not None
    for popsize, options in ((4, None), (12, {"CSA_dampfac": 0.5})):
        x0 = np.zeros(20)
        mine = SepCMAES(x0, np.random.default_rng(2), popsize, options=options)
        pycma = PycmaSepCMAES(x0, np.random.default_rng(2), popsize, options=options)
        assert mine.pycma is not None
        for generation in range(30):
            genomes = mine.ask()
            np.testing.assert_array_equal(genomes, pycma.ask())
            mine.tell(genomes, _errors(genomes, generation))
            pycma.tell(genomes, _errors(genomes, generation))
        assert mine.step_size == pycma.step_size


def test_global_random_state_untouched_where_pycma_touches_it():
    """pycma's two-point adaptation checks itself with numpy.random.randint (the global state); this one never."""
    def generations(optimizer):
        _, key, position, *_ = np.random.get_state()
        for _ in range(8):
            genomes = optimizer.ask()
            optimizer.tell(genomes, genomes.sum(axis=1))
        _, key_after, position_after, *_ = np.random.get_state()
        return not (np.array_equal(key, key_after) and position == position_after)

    assert generations(PycmaSepCMAES(np.zeros(400), np.random.default_rng(0), 10))
    assert not generations(SepCMAES(np.zeros(400), np.random.default_rng(0), 10))


def test_resumes_from_a_pickle_bit_for_bit():
    x0 = np.zeros(320)
    run, reference = (SepCMAES(x0, np.random.default_rng(9), 16) for _ in range(2))
    for generation in range(5):
        for optimizer in (run, reference):
            genomes = optimizer.ask()
            optimizer.tell(genomes, _errors(genomes, generation))
    resumed = pickle.loads(pickle.dumps(run))
    for generation in range(5, 10):
        genomes = resumed.ask()
        np.testing.assert_array_equal(genomes, reference.ask())
        resumed.tell(genomes, _errors(genomes, generation))
        reference.tell(genomes, _errors(genomes, generation))


def test_must_be_told_its_own_population():
    optimizer = make_optimizer("sep-cma", np.zeros(12), np.random.default_rng(0), 8)
    genomes = optimizer.ask()
    with pytest.raises(ValueError, match="last ask"):
        optimizer.tell(genomes[::-1], np.arange(8.0))
    with pytest.raises(ValueError, match="at least 2"):
        SepCMAES(np.zeros(3), np.random.default_rng(0), 1)
