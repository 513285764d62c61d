"""Random weight guessing: iid U[-a, a] genes, independent of history, trials counted until success."""

from __future__ import annotations

import numpy as np
import pytest

from evolino.optimizers import make_optimizer


def make_guess(popsize=50, seed=0, **options):
    return make_optimizer("guess", np.zeros(20), np.random.default_rng(seed), popsize, None, **options)


def test_genes_are_uniform_in_the_interval():
    opt = make_guess(popsize=2000)
    genes = opt.ask()
    assert genes.shape == (2000, 20)
    assert genes.min() >= -100.0 and genes.max() <= 100.0
    assert genes.min() < -99.0 and genes.max() > 99.0
    # U[-a, a]: mean 0, variance a^2 / 3; 40,000 samples put both well inside these bounds
    assert abs(genes.mean()) < 1.0
    assert abs(genes.var() / (100.0**2 / 3) - 1.0) < 0.02
    small = make_guess(half_width=0.5).ask()
    assert np.abs(small).max() <= 0.5


def test_samples_do_not_depend_on_history():
    a, b = make_guess(), make_guess()
    for k in range(4):
        ga, gb = a.ask(), b.ask()
        np.testing.assert_array_equal(ga, gb)
        a.tell(ga, np.full(len(ga), float(k)))
        b.tell(gb, np.random.default_rng(k).exponential(size=len(gb)))


def test_trials_to_success_counts_every_genome_before_the_first_success():
    opt = make_guess(popsize=10, success_error=0.5)
    errors = [np.ones(10), np.ones(10), np.ones(10)]
    errors[1][[3, 7]] = 0.5  # first success: genome 4 of the second batch -> trial 14
    errors[2][0] = 0.0       # a later, better success does not change the count
    for e in errors:
        genomes = opt.ask()
        opt.tell(genomes, e)
        if e is errors[0]:
            assert opt.trials_to_success is None
    assert opt.trials_to_success == 14
    no_criterion = make_guess(popsize=3)
    g = no_criterion.ask()
    no_criterion.tell(g, np.zeros(3))
    assert no_criterion.trials_to_success is None


def test_with_the_trainer_population_one_counts_trials_exactly():
    from evolino.tasks import make_task
    from evolino.trainer import Evolino

    # a criterion that about one random 2-cell network in ten meets, so the run is short
    est = Evolino(cells=2, optimizer="guess", population=1, generations=200, seed=0, target_error=1e-3,
                  feedback_scale=1e-3, rcond=1e-10, optimizer_options={"success_error": 1e-3, "half_width": 1.0})
    result = est.fit(make_task("mso1")).result_
    assert result.stop_reason == "target_error"
    assert result.fitness <= 1e-3
    assert len(result.history) > 1 and all(row["best"] > 1e-3 for row in result.history[:-1])
    assert result.evaluations == len(result.history) == est.optimizer_.trials_to_success


def test_bad_half_width():
    with pytest.raises(ValueError, match="half_width"):
        make_guess(half_width=0.0)
