"""The ask/tell contract, checked for every registered optimizer (cma, sep-cma, esp, es, ga, guess, ...) and for a
sample of the library optimizers (evosax:NAME, nevergrad:NAME) whose library is installed (all of evosax's strategies
run in tests/test_library_optimizers.py)."""

from __future__ import annotations

import pickle
import random

import numpy as np
import pytest

from evolino.optimizers import check_options, families, make_optimizer, optimizer_names, optimizer_options

DIMENSION = 12
BLOCKS = [slice(0, 4), slice(4, 8), slice(8, 12)]
POPSIZE = 8
GENERATIONS = 8
# Library optimizers of every kind: distribution-based, population-based (evosax starts them from an evaluated
# population), with sub-populations, and nevergrad's portfolio, evolution strategies, DE, PSO and (1+1).
LIBRARY_SAMPLE = {"evosax": ["SNES", "Open_ES", "PGPE", "CMA_ES", "DifferentialEvolution", "SV_Open_ES"],
                  "nevergrad": ["NGOpt", "TBPSA", "TwoPointsDE", "PSO", "OnePlusOne", "CMA"]}
NAMES = optimizer_names() + [f"{prefix}:{name}" for prefix, names in LIBRARY_SAMPLE.items()
                             if families()[prefix].available() for name in names]


def shifted_sphere(genomes: np.ndarray) -> np.ndarray:
    return np.sum((genomes - 0.5) ** 2, axis=1)


def build(name: str, seed: int = 3):
    x0 = np.random.default_rng(100).normal(0.0, 0.3, DIMENSION)
    options = {"budget": 4 * GENERATIONS * POPSIZE} if name.startswith("nevergrad:") else {}  # as the trainer does
    return make_optimizer(name, x0, np.random.default_rng(seed), POPSIZE, BLOCKS, **options)


def run(opt, generations: int) -> list[np.ndarray]:
    asked = []
    for _ in range(generations):
        genomes = opt.ask()
        asked.append(genomes)
        opt.tell(genomes, shifted_sphere(genomes))
    return asked


def test_every_issue_optimizer_is_registered():
    assert {"cma", "sep-cma", "esp", "es", "ga", "guess"} <= set(optimizer_names())


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_run_and_other_seed_differs(name):
    first, second, other = build(name), build(name), build(name, seed=4)
    a, b, c = run(first, GENERATIONS), run(second, GENERATIONS), run(other, GENERATIONS)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert first.best_error == second.best_error
    assert not all(np.array_equal(x, z) for x, z in zip(a, c, strict=True))


@pytest.mark.parametrize("name", NAMES)
def test_pickled_optimizer_resumes_identically(name):
    uninterrupted = build(name)
    expected = run(uninterrupted, GENERATIONS)
    first_half = build(name)
    run(first_half, GENERATIONS // 2)
    resumed = pickle.loads(pickle.dumps(first_half))
    got = run(resumed, GENERATIONS - GENERATIONS // 2)
    for x, y in zip(expected[GENERATIONS // 2:], got, strict=True):
        np.testing.assert_array_equal(x, y)
    assert resumed.best_error == uninterrupted.best_error
    np.testing.assert_array_equal(resumed.best_genome, uninterrupted.best_genome)
    assert (resumed.generation, resumed.evaluations) == (uninterrupted.generation, uninterrupted.evaluations)


@pytest.mark.parametrize("name", NAMES)
def test_global_random_states_untouched(name):
    random.seed(12345)
    np.random.seed(12345)  # noqa: NPY002  (setting the global state is what this test checks stays put)
    python_state, numpy_state = random.getstate(), np.random.get_state()  # noqa: NPY002
    opt = build(name)
    run(opt, GENERATIONS)
    pickle.loads(pickle.dumps(opt)).ask()
    assert random.getstate() == python_state
    after = np.random.get_state()  # noqa: NPY002
    assert after[0] == numpy_state[0] and after[2:] == numpy_state[2:]
    np.testing.assert_array_equal(after[1], numpy_state[1])


@pytest.mark.parametrize("name", NAMES)
def test_best_ever_is_never_lost(name):
    opt = build(name)
    rng = np.random.default_rng(7)
    seen_best, seen_genome = np.inf, None
    for generation in range(GENERATIONS):
        genomes = opt.ask()
        assert genomes.shape[1] == DIMENSION and genomes.shape[0] == opt.popsize
        # noisy errors, with NaN and +inf mixed in, so later generations are often worse than earlier ones
        errors = shifted_sphere(genomes) * rng.uniform(0.5, 4.0, len(genomes))
        errors[0] = np.nan
        errors[1] = np.inf
        if generation == GENERATIONS - 1:
            errors[:] = np.inf  # a generation that is all failures must not erase the best
        opt.tell(genomes, errors)
        finite = np.isfinite(errors)
        if finite.any() and errors[finite].min() < seen_best:
            seen_best = errors[finite].min()
            seen_genome = genomes[np.flatnonzero(errors == seen_best)[0]].copy()
        assert opt.best_error == seen_best
        np.testing.assert_array_equal(opt.best_genome, seen_genome)
    assert opt.generation == GENERATIONS
    assert opt.evaluations == GENERATIONS * opt.popsize


@pytest.mark.parametrize("name", NAMES)
def test_unknown_option_is_a_clear_error(name):
    with pytest.raises(ValueError, match=r"unknown option\(s\) no_such_option .*valid:"):
        check_options(name, {"no_such_option": 1})
    known = optimizer_options(name)
    check_options(name, {key: default for key, default in known.items()})


def test_option_values_of_the_wrong_type_are_clear_errors():
    check_options("esp", {"sigma0": 1, "trials": np.int64(3), "crossover": False, "stagnation": None})
    check_options("cma", {"sigma0": 0.2, "separable": np.bool_(True), "options": {"tolx": 1e-9}})
    for name, options, expected in [
        ("cma", {"sigma0": "abc"}, "a number"),
        ("cma", {"sigma0": True}, "a number"),  # a bool is not a number to a user
        ("cma", {"separable": "yes"}, "true or false"),
        ("esp", {"trials": 2.5}, "an integer"),
        ("esp", {"stagnation": "never"}, "an integer or none"),
        ("esp", {"credit": 1}, "a string"),
    ]:
        key = next(iter(options))
        with pytest.raises(ValueError, match=f"option {key} of optimizer '{name}' must be {expected}, got "):
            check_options(name, options)


@pytest.mark.parametrize("name", NAMES)
def test_tell_rejects_mismatched_shapes(name):
    opt = build(name)
    genomes = opt.ask()
    with pytest.raises(ValueError):
        opt.tell(genomes, np.zeros(len(genomes) + 1))
