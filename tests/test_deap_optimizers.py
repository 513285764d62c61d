"""The Generator-driven operators equal DEAP's own operators fed the same draws; ES and GA behaviour."""

from __future__ import annotations

import random

import numpy as np
import pytest
from deap import tools

from evolino.optimizers import make_optimizer
from evolino.optimizers.deap_es import (
    blend_crossover,
    error_statistics,
    es_blend_crossover,
    es_lognormal_mutation,
    gaussian_mutation,
    one_point_crossover,
    rank_by_error,
    tournament_selection,
)


class _Individual(list):
    """A DEAP-style list individual with an ES strategy (made locally, no deap.creator)."""

    strategy: list


def _feed(monkeypatch, name: str, values) -> None:
    """Make ``random.<name>`` return ``values`` in order (DEAP's operators call the global module)."""
    it = iter(list(values))
    monkeypatch.setattr(random, name, lambda *args, **kwargs: next(it))


def test_one_point_crossover_equals_deap(monkeypatch):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 7)), rng.normal(size=(3, 7))
    cuts = np.array([1, 4, 6])
    c1, c2 = one_point_crossover(a, b, cuts)
    for i, cut in enumerate(cuts):
        _feed(monkeypatch, "randint", [int(cut)])
        d1, d2 = tools.cxOnePoint(list(a[i]), list(b[i]))
        np.testing.assert_array_equal(c1[i], d1)
        np.testing.assert_array_equal(c2[i], d2)


def test_blend_crossover_equals_deap(monkeypatch):
    rng = np.random.default_rng(1)
    a, b, u = rng.normal(size=6), rng.normal(size=6), rng.random(6)
    alpha = 0.3
    c1, c2 = blend_crossover(a[None], b[None], ((1 + 2 * alpha) * u - alpha)[None])
    _feed(monkeypatch, "random", u)
    d1, d2 = tools.cxBlend(list(a), list(b), alpha)
    np.testing.assert_allclose(c1[0], d1, rtol=1e-15)
    np.testing.assert_allclose(c2[0], d2, rtol=1e-15)


def test_es_blend_and_lognormal_mutation_equal_deap(monkeypatch):
    rng = np.random.default_rng(2)
    g, alpha = 5, 0.1
    x1, x2, s1, s2 = rng.normal(size=g), rng.normal(size=g), rng.random(g), rng.random(g)
    ux, us = rng.random(g), rng.random(g)
    ours = es_blend_crossover(x1[None], s1[None], x2[None], s2[None], ((1 + 2 * alpha) * ux - alpha)[None],
                              ((1 + 2 * alpha) * us - alpha)[None])
    i1, i2 = _Individual(x1), _Individual(x2)
    i1.strategy, i2.strategy = list(s1), list(s2)
    _feed(monkeypatch, "random", np.ravel(np.column_stack([ux, us])))  # DEAP draws x then s, gene by gene
    tools.cxESBlend(i1, i2, alpha)
    for got, want in zip(ours, (i1, i1.strategy, i2, i2.strategy), strict=True):
        np.testing.assert_allclose(got[0], want, rtol=1e-14)

    common, individual, steps = rng.normal(), rng.normal(size=g), rng.normal(size=g)
    new_x, new_s = es_lognormal_mutation(x1[None], s1[None], np.array([common]), individual[None], steps[None],
                                         c=1.0)
    ind = _Individual(x1)
    ind.strategy = list(s1)
    _feed(monkeypatch, "gauss", [common, *np.ravel(np.column_stack([individual, steps]))])
    _feed_random = iter([0.0] * g)  # indpb = 1: every gene mutates
    monkeypatch.setattr(random, "random", lambda: next(_feed_random))
    tools.mutESLogNormal(ind, c=1.0, indpb=1.0)
    np.testing.assert_allclose(new_x[0], ind, rtol=1e-13)
    np.testing.assert_allclose(new_s[0], ind.strategy, rtol=1e-13)


def test_gaussian_mutation_equals_deap(monkeypatch):
    rng = np.random.default_rng(3)
    x, z = rng.normal(size=8), rng.normal(size=8)
    which = np.array([1, 0, 0, 1, 1, 0, 1, 0], dtype=bool)
    sigma = 0.2
    ours = gaussian_mutation(x[None], sigma, which[None], z[None])[0]
    _feed(monkeypatch, "random", np.where(which, 0.0, 0.99))
    _feed(monkeypatch, "gauss", sigma * z[which])  # DEAP draws gauss(mu, sigma) only for mutated genes
    (deap_x,) = tools.mutGaussian(list(x), mu=0.0, sigma=sigma, indpb=0.5)
    np.testing.assert_allclose(ours, deap_x, rtol=1e-15)


def test_tournament_and_ranking_equal_deap(monkeypatch):
    rng = np.random.default_rng(4)
    errors = rng.normal(size=12)
    errors[[3, 7]] = errors[5]  # ties
    contestants = rng.integers(0, 12, size=(5, 3))
    ours = tournament_selection(errors, contestants)

    class Ind:
        def __init__(self, i):
            self.i = i
            self.fitness = _fitness((-errors[i],))

    from deap import base

    class _fitness(base.Fitness):
        weights = (1.0,)

    population = [Ind(i) for i in range(12)]
    _feed(monkeypatch, "choice", [population[i] for i in contestants.ravel()])
    theirs = [ind.i for ind in tools.selTournament(population, 5, tournsize=3)]
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(rank_by_error(errors), np.argsort(errors, kind="stable"))
    np.testing.assert_array_equal(rank_by_error(errors, 4), np.argsort(errors, kind="stable")[:4])


def test_error_statistics_ignores_nonfinite():
    record = error_statistics(np.array([3.0, np.inf, 1.0, 2.0]))
    assert record == {"min": 1.0, "median": 2.0, "mean": 2.0, "max": 3.0, "nonfinite": 1}


def sphere(genomes):
    return np.sum((genomes - 0.7) ** 2, axis=1)


def evolve(name, generations, **options):
    opt = make_optimizer(name, np.zeros(10), np.random.default_rng(0), 20, None, **options)
    first = None
    for _ in range(generations):
        genomes = opt.ask()
        errors = sphere(genomes)
        first = errors.min() if first is None else first
        opt.tell(genomes, errors)
    return opt, first


@pytest.mark.parametrize("strategy", ["comma", "plus"])
def test_es_self_adapts_and_converges_on_a_sphere(strategy):
    opt, first = evolve("es", 150, strategy=strategy, sigma0=0.5)
    assert opt.best_error < 1e-4 * first
    assert opt.step_size < 0.05  # step sizes shrank by self-adaptation


def test_plus_keeps_parents_comma_does_not():
    for strategy, expect_finite in (("plus", True), ("comma", False)):
        opt = make_optimizer("es", np.zeros(4), np.random.default_rng(0), 8, None, strategy=strategy, mu=2)
        genomes = opt.ask()
        opt.tell(genomes, sphere(genomes))
        parents = opt.parents.copy()
        genomes = opt.ask()
        opt.tell(genomes, np.full(len(genomes), np.inf))
        assert np.isfinite(opt.parent_errors).all() == expect_finite
        assert np.array_equal(opt.parents, parents) == expect_finite


def test_ga_keeps_its_elite_and_improves():
    opt = make_optimizer("ga", np.zeros(10), np.random.default_rng(0), 20, None, elite=2)
    genomes = opt.ask()
    errors = sphere(genomes)
    opt.tell(genomes, errors)
    np.testing.assert_array_equal(opt.ask()[:2], genomes[np.argsort(errors)[:2]])
    opt, first = evolve("ga", 120, mutation_sigma=0.05, indpb=0.3)
    assert opt.best_error < 0.01 * first


def test_bad_options_are_clear_errors():
    with pytest.raises(ValueError, match="strategy"):
        make_optimizer("es", np.zeros(3), np.random.default_rng(0), 8, None, strategy="bogus")
    with pytest.raises(ValueError, match="mu"):
        make_optimizer("es", np.zeros(3), np.random.default_rng(0), 8, None, mu=9)
    with pytest.raises(ValueError, match="cxpb"):
        make_optimizer("ga", np.zeros(3), np.random.default_rng(0), 8, None, cxpb=1.5)


def _names_defined_in_source(module) -> set[str]:
    import ast
    import inspect

    names = set()
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
    return names


def test_no_deap_creator_classes_leak():
    from deap import creator

    for name in ("es", "ga", "esp"):
        evolve(name, 3)
    own = _names_defined_in_source(creator)
    leaked = [key for key in vars(creator) if not key.startswith("__") and key not in own]
    assert leaked == []
    creator.create("_LeakProbe", list)  # the check sees what creator.create adds
    try:
        assert [key for key in vars(creator) if not key.startswith("__") and key not in own] == ["_LeakProbe"]
    finally:
        del creator._LeakProbe
