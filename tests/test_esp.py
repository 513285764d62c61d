"""ESP: trials per chromosome, max / mean credit, breeding, burst mutation, best-ever kept, and a real run."""

from __future__ import annotations

import numpy as np
import pytest

from evolino.optimizers import make_optimizer
from evolino.optimizers.esp import ESP, credit_chromosomes

BLOCKS = [slice(0, 3), slice(3, 8), slice(8, 10)]  # unequal chromosome lengths on purpose
DIMENSION = 10


def make_esp(**options) -> ESP:
    x0 = np.random.default_rng(1).normal(size=DIMENSION)
    return make_optimizer("esp", x0, np.random.default_rng(2), options.pop("popsize", 24), BLOCKS, **options)


def chromosome_indices(opt: ESP, genomes: np.ndarray) -> np.ndarray:
    """For each network and block, which row of that block's subpopulation it holds -> (n, blocks); -1 if none."""
    out = np.full((len(genomes), len(opt.blocks)), -1)
    for b, block in enumerate(opt.blocks):
        for j, chromosome in enumerate(opt.subpopulations[b]):
            out[np.all(genomes[:, block] == chromosome, axis=1), b] = j
    return out


def test_popsize_maps_to_subpopulation_size_and_trials():
    opt = make_esp(popsize=40, trials=4)
    assert (opt.subpop_size, opt.popsize) == (10, 40)
    assert opt.ask().shape == (40, DIMENSION)
    opt = make_esp(popsize=40, trials=3, subpop_size=7)
    assert opt.ask().shape == (21, DIMENSION)
    assert [p.shape for p in opt.subpopulations] == [(7, 3), (7, 5), (7, 2)]


@pytest.mark.parametrize("trials", [1, 3, 10])
def test_every_chromosome_takes_part_in_exactly_trials_networks(trials):
    opt = make_esp(trials=trials, subpop_size=6)
    for _ in range(3):  # also after breeding
        genomes = opt.ask()
        used = chromosome_indices(opt, genomes)
        assert (used >= 0).all(), "every network is assembled from current chromosomes"
        for b in range(len(BLOCKS)):
            np.testing.assert_array_equal(np.bincount(used[:, b], minlength=6), np.full(6, trials))
        opt.tell(genomes, np.sum(genomes**2, axis=1))


def reference_credit(errors, chosen, size, credit):
    out = []
    for j in range(size):
        mine = [e for e, c in zip(errors, chosen, strict=True) if c == j]
        out.append(np.inf if not mine else (min(mine) if credit == "best" else sum(mine) / len(mine)))
    return np.array(out)


@pytest.mark.parametrize("credit", ["best", "mean"])
def test_credit_matches_a_plain_loop(credit):
    rng = np.random.default_rng(0)
    errors = rng.exponential(size=30)
    errors[4] = np.inf
    chosen = rng.integers(0, 7, size=30)
    chosen[chosen == 6] = 5  # chromosome 6 never used -> +inf
    expected = reference_credit(errors, chosen, 7, credit)
    np.testing.assert_allclose(credit_chromosomes(errors, chosen, 7, credit), expected)


@pytest.mark.parametrize("credit", ["best", "mean"])
def test_tell_credits_each_chromosome_from_its_networks(credit):
    opt = make_esp(credit=credit, trials=5, subpop_size=4)
    genomes = opt.ask()
    used = chromosome_indices(opt, genomes)
    errors = np.random.default_rng(5).exponential(size=len(genomes))
    opt.tell(genomes, errors)
    for b in range(len(BLOCKS)):
        np.testing.assert_allclose(opt.chromosome_errors[b], reference_credit(errors, used[:, b], 4, credit))


def test_breeding_keeps_top_half_and_recombines_top_quarter():
    opt = make_esp(trials=2, subpop_size=8, mutation_rate=0.0, crossover=True)
    before = [p.copy() for p in opt.subpopulations]
    genomes = opt.ask()
    opt.tell(genomes, np.random.default_rng(9).exponential(size=len(genomes)))
    for b, (old, new) in enumerate(zip(before, opt.subpopulations, strict=True)):
        order = np.argsort(opt.chromosome_errors[b], kind="stable")
        np.testing.assert_array_equal(new[:4], old[order[:4]])  # top half unchanged, best first
        parents = old[order[:2]]                                 # top quarter
        for child in new[4:]:  # each child is a prefix of one parent followed by the suffix of a parent
            g = child.size
            assert any(np.array_equal(child[:c], p[:c]) and np.array_equal(child[c:], q[c:])
                       for c in range(1, max(g, 2)) for p in parents for q in parents)


def test_mutation_is_cauchy_with_the_given_scale():
    opt = make_esp(trials=1, subpop_size=400, crossover=False, mutation_scale=0.5, stagnation=None)
    parents_before = [p.copy() for p in opt.subpopulations]
    genomes = opt.ask()
    opt.tell(genomes, np.arange(len(genomes), dtype=float))
    noise = []
    for b in range(len(BLOCKS)):
        order = np.argsort(opt.chromosome_errors[b], kind="stable")
        top = parents_before[b][order[:100]]
        children = opt.subpopulations[b][200:]
        # without crossover child i is a mutated copy of top-quarter parent i % 100
        noise.append((children - top[np.arange(200) % 100]).ravel())
    noise = np.concatenate(noise)
    # median of |Cauchy(scale)| is the scale; a Gaussian of that median would have no values beyond 20 scales
    assert abs(np.median(np.abs(noise)) - 0.5) < 0.05
    assert np.mean(np.abs(noise) > 10.0) > 0.01


def test_burst_mutation_after_configured_stagnation():
    opt = make_esp(trials=2, subpop_size=6, stagnation=3, burst_scale=0.01)
    constant = lambda g: np.ones(len(g))  # noqa: E731  (only the first generation improves)
    for generation in range(1, 8):
        genomes = opt.ask()
        opt.tell(genomes, constant(genomes))
        # gen 1 improves (inf -> 1); gens 2, 3, 4 stagnate -> burst at gen 4; again after 5, 6, 7
        assert opt.bursts == {1: 0, 2: 0, 3: 0, 4: 1, 5: 1, 6: 1, 7: 2}[generation]
        if generation == 4:
            for b, block in enumerate(opt.blocks):
                pop = opt.subpopulations[b]
                np.testing.assert_array_equal(pop[0], opt.best_genome[block])
                assert np.median(np.abs(pop[1:] - opt.best_genome[block])) < 0.05  # Cauchy, scale 0.01


def test_no_burst_while_improving_and_when_disabled():
    opt = make_esp(trials=2, subpop_size=6, stagnation=2)
    for k in range(6):
        genomes = opt.ask()
        opt.tell(genomes, np.full(len(genomes), 10.0 - k))  # strictly improving
    assert opt.bursts == 0
    opt = make_esp(trials=2, subpop_size=6, stagnation=None)
    for _ in range(6):
        genomes = opt.ask()
        opt.tell(genomes, np.ones(len(genomes)))
    assert opt.bursts == 0


def test_best_ever_network_survives_bursts():
    opt = make_esp(trials=2, subpop_size=6, stagnation=2)
    rng = np.random.default_rng(3)
    best = np.inf
    for generation in range(12):
        genomes = opt.ask()
        errors = np.sum((genomes - 1.0) ** 2, axis=1) * (1 if generation < 2 else rng.uniform(5, 10, len(genomes)))
        opt.tell(genomes, errors)
        best = min(best, errors.min())
        assert opt.best_error == best
    assert opt.bursts >= 2
    assert np.isclose(np.sum((opt.best_genome - 1.0) ** 2), opt.best_error)


def test_bad_options_and_blocks_are_clear_errors():
    x0 = np.zeros(DIMENSION)
    with pytest.raises(ValueError, match="cover the whole genome"):
        make_optimizer("esp", x0, np.random.default_rng(0), 10, [slice(0, 4), slice(5, 10)])
    with pytest.raises(ValueError, match="credit"):
        make_esp(credit="max")
    with pytest.raises(ValueError, match="trials"):
        make_esp(trials=0)
    opt = make_esp()
    genomes = opt.ask()
    with pytest.raises(ValueError, match="last ask"):
        opt.tell(genomes + 1.0, np.ones(len(genomes)))


def test_esp_learns_mso1_end_to_end():
    from evolino.tasks import make_task
    from evolino.trainer import Evolino

    est = Evolino(cells=3, optimizer="esp", population=20, generations=25, seed=0, feedback_scale=1e-4,
                  rcond=1e-14)
    result = est.fit(make_task("mso1")).result_
    assert result.history[-1]["best_ever"] < 0.01 * result.history[0]["best"]
    assert result.test_error < 1e-3
