"""Compact CMA-ES pickles: no matrix that can be recomputed is stored, and an optimizer unpickled at any generation
continues bit for bit like the one that never stopped. Also: pycma options cannot replace the run's random source."""

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from evolino.network import LSTMSpec
from evolino.optimizers import make_optimizer
from evolino.optimizers.cmaes import CMAES


def _optimizer(cells: int, population: int, name: str = "cma"):
    spec = LSTMSpec(cells=cells, n_outputs=1, feedback=True)
    x0 = np.random.default_rng(0).normal(0.0, 0.1, spec.dimension)
    return make_optimizer(name, x0, np.random.default_rng(1), population, spec.cell_slices(), sigma0=0.1)


def _errors(genomes):
    errors = (genomes**2).sum(axis=1) + np.sin(genomes[:, :5].sum(axis=1))
    errors[::7] = np.inf  # diverged networks: the stand-in for infinities is part of what is replayed
    return errors


def _generation(opt):
    genomes = opt.ask()
    opt.tell(genomes, _errors(genomes))
    return genomes


def _whole_size(opt) -> int:
    """Bytes of the pickle of the whole objects, as checkpoints held them before (every matrix included)."""
    return len(pickle.dumps({k: v for k, v in vars(opt).items() if k != "_anchor"}, pickle.HIGHEST_PROTOCOL))


def _same_state(a, b):
    assert np.array_equal(a.es.sm.C, b.es.sm.C) and np.array_equal(a.es.sm.B, b.es.sm.B)
    assert np.array_equal(a.es.mean, b.es.mean) and a.es.sigma == b.es.sigma
    assert a.rng.bit_generator.state == b.rng.bit_generator.state
    assert (a.generation, a.evaluations, a.best_error) == (b.generation, b.evaluations, b.best_error)


# CSA and TPA step-size adaptation; the larger C and B, the more the compact state saves.
@pytest.mark.parametrize("cells, population, generations, ratio", [(3, 8, 9, 0.5), (10, 40, 9, 0.35)])
def test_unpickled_at_any_generation_the_optimizer_continues_bit_for_bit(cells, population, generations, ratio):
    reference = _optimizer(cells, population)
    asked = [_generation(reference) for _ in range(generations)]
    compact_seen = False
    for cut in range(1, generations):
        opt = _optimizer(cells, population)
        for _ in range(cut):
            _generation(opt)
        state = opt.__getstate__()
        blob = pickle.dumps(opt, pickle.HIGHEST_PROTOCOL)
        if "covariance" in state:  # after the first eigendecomposition: C as a triangle, no B
            compact_seen = True
            d = opt.dimension
            assert state["covariance"].shape == (d * (d + 1) // 2,) and len(blob) < ratio * _whole_size(opt)
        resumed = pickle.loads(blob)
        assert resumed.resumed_exactly
        for generation in range(cut, generations):
            np.testing.assert_array_equal(_generation(resumed), asked[generation])
        _same_state(resumed, reference)
    assert compact_seen


def test_genomes_told_that_were_not_asked_fall_back_to_the_whole_objects():
    opt = _optimizer(3, 8)
    for _ in range(4):
        _generation(opt)
    assert "covariance" in opt.__getstate__()
    genomes = opt.ask()
    assert "covariance" not in opt.__getstate__()  # between an ask and its tell: the whole objects
    genomes[0] += 1e-3  # an injected solution: the anchor could no longer replay this tell
    opt.tell(genomes, _errors(genomes))
    assert "covariance" not in opt.__getstate__()
    resumed = pickle.loads(pickle.dumps(opt))
    for _ in range(3):
        np.testing.assert_array_equal(_generation(resumed), _generation(opt))
    assert "covariance" in opt.__getstate__()  # the next eigendecomposition anchors again


def test_a_replay_that_does_not_reproduce_the_state_is_flagged():
    opt = _optimizer(3, 8)
    for _ in range(5):
        _generation(opt)
    state = opt.__getstate__()
    state["errors"][-1] = state["errors"][-1][::-1].copy()  # as if the told errors were others
    tampered = CMAES.__new__(CMAES)
    tampered.__setstate__(state)
    assert not tampered.resumed_exactly
    assert pickle.loads(pickle.dumps(opt)).resumed_exactly


_FIND_ASKED = """
import pickle, sys
with open(sys.argv[1], "rb") as handle:
    opt, genomes = pickle.load(handle)
archives = (opt.es.sent_solutions, opt.es._injected_solutions_archive)
print(sum(row in archives[0] for row in genomes), sum(x in archives[1] for x in archives[1]._unhashed_keys.values()))
"""


def test_another_process_finds_the_solutions_pycma_handed_out(tmp_path):
    """pycma files asked solutions under hash(bytes), which Python salts per process; unpickled elsewhere, they must
    be found when told (else pycma repairs them as foreign solutions: a resumed 30-cell run went elsewhere)."""
    opt = _optimizer(10, 40)
    for _ in range(3):
        _generation(opt)
    genomes = opt.ask()  # between an ask and its tell: the archives are full
    (tmp_path / "state.pickle").write_bytes(pickle.dumps((opt, genomes)))
    proc = subprocess.run([sys.executable, "-c", _FIND_ASKED, str(tmp_path / "state.pickle")],
                          env={**os.environ, "PYTHONHASHSEED": "12345"}, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    found, injected = map(int, proc.stdout.split())
    assert found == len(genomes) and injected == len(opt.es._injected_solutions_archive) == 2  # TPA's pair


def test_separable_cma_pickles_whole_and_resumes():
    opt, reference = _optimizer(10, 20, "sep-cma"), _optimizer(10, 20, "sep-cma")
    for _ in range(4):
        _generation(opt), _generation(reference)
    resumed = pickle.loads(pickle.dumps(opt))
    for _ in range(3):
        np.testing.assert_array_equal(_generation(resumed), _generation(reference))


_RESUME_ELSEWHERE = """
import pickle, sys
import numpy as np
with open(sys.argv[1], "rb") as handle:
    opt = pickle.load(handle)
genomes = opt.ask()
np.savez(sys.argv[2], genomes=genomes, exact=opt.resumed_exactly, mean=opt.es.mean, C_diagonal=np.diagonal(opt.es.sm.C))
"""


@pytest.mark.slow
def test_a_30_cell_population_200_checkpoint_is_under_a_third_and_resumes_bit_for_bit(tmp_path):
    """The issue's case: d = 3930. The whole objects pickle to 267 MB (C and B, 124 MB each); the compact state is
    C's triangle plus the anchor (75 MB). Six generations: pycma decomposes C at the fifth ask (lazy gap 3.8). The
    checkpoint is resumed by another process with another hash salt, as `resume` does."""
    opt = _optimizer(30, 200)
    for _ in range(6):
        _generation(opt)
    whole, blob = _whole_size(opt), pickle.dumps(opt, pickle.HIGHEST_PROTOCOL)
    assert whole > 2 * 8 * opt.dimension**2  # C and B were in it
    assert len(blob) <= whole / 3, (len(blob), whole)
    (tmp_path / "opt.pickle").write_bytes(blob)
    proc = subprocess.run([sys.executable, "-c", _RESUME_ELSEWHERE, str(tmp_path / "opt.pickle"),
                           str(tmp_path / "next.npz")], env={**os.environ, "PYTHONHASHSEED": "12345"},
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    elsewhere = np.load(tmp_path / "next.npz")
    genomes = opt.ask()
    assert bool(elsewhere["exact"])
    np.testing.assert_array_equal(elsewhere["genomes"], genomes)
    np.testing.assert_array_equal(elsewhere["mean"], opt.es.mean)
    np.testing.assert_array_equal(elsewhere["C_diagonal"], np.diagonal(opt.es.sm.C))


@pytest.mark.parametrize("options", [{"seed": 5}, {"SEED": 5}, {"randn": np.random.standard_normal},
                                     {"CMA_sampler": object}, {"cma_sampler_options": {}}])
def test_pycma_options_cannot_replace_the_run_s_random_source(options):
    with pytest.raises(ValueError, match="random source"):
        make_optimizer("cma", np.zeros(4), np.random.default_rng(0), 6, options=options)


def test_other_pycma_options_still_pass_through():
    opt = make_optimizer("cma", np.zeros(4), np.random.default_rng(0), 6, options={"CSA_dampfac": 2})
    assert opt.es.opts["CSA_dampfac"] == 2 and isinstance(opt.es.opts["seed"], float) and np.isnan(opt.es.opts["seed"])
