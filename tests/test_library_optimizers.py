"""evosax and nevergrad behind the ask/tell interface (``evosax:NAME``, ``nevergrad:NAME``): names, options and their
checks, the run's one seed, checkpoints as arrays (evosax) or replayed errors (nevergrad), the CLI, a missing extra.
The ask/tell contract itself is checked for a sample of both in tests/test_optimizer_contract.py."""

from __future__ import annotations

import inspect
import json
import pickle
import random

import numpy as np
import pytest

from evolino.cli import main
from evolino.optimizers import check_name, check_options, families, make_optimizer, optimizer_options
from evolino.optimizers.family import MissingExtra, finite_stand_in

pytest.importorskip("evosax")
pytest.importorskip("nevergrad")

DIMENSION = 12
POPSIZE = 8


def sphere(genomes: np.ndarray) -> np.ndarray:
    return np.sum((genomes - 0.5) ** 2, axis=1)


def build(name: str, seed: int = 3, **options):
    x0 = np.random.default_rng(100).normal(0.0, 0.3, DIMENSION)
    return make_optimizer(name, x0, np.random.default_rng(seed), POPSIZE, **options)


def run(opt, generations: int) -> list[np.ndarray]:
    asked = []
    for _ in range(generations):
        genomes = opt.ask()
        asked.append(genomes)
        opt.tell(genomes, sphere(genomes))
    return asked


# ------------------------------------------------------------------------------------------------ names, options


def test_every_evosax_strategy_and_nevergrad_optimizer_is_named():
    import nevergrad as ng
    from evosax.algorithms import algorithms

    assert families()["evosax"].names() == sorted(algorithms)
    assert families()["nevergrad"].names() == sorted(ng.optimizers.registry)
    for name in ("evosax:SNES", "evosax:Open_ES", "nevergrad:NGOpt", "nevergrad:TBPSA"):
        check_name(name)


@pytest.mark.parametrize("name, expected", [
    ("evosax:SNESS", r"unknown evosax strategy 'SNESS'; did you mean evosax:SNES.*valid: ARS, ASEBO"),
    ("nevergrad:NGOp", r"unknown nevergrad optimizer 'NGOp'; did you mean nevergrad:NGOpt.*python -m evolino "
                       r"optimizers lists all"),
    ("cmaa", r"unknown optimizer 'cmaa'; choose one of cma, .* or evosax:NAME or nevergrad:NAME"),
    ("pygmo:DE", r"unknown optimizer family 'pygmo'.*evosax:NAME, nevergrad:NAME"),
])
def test_unknown_names_name_the_valid_ones(name, expected):
    with pytest.raises(ValueError, match=expected):
        check_name(name)


def test_options_with_defaults_and_their_checks():
    snes = optimizer_options("evosax:SNES")
    assert snes["sigma0"] == 0.3 and snes["optimizer"] == "sgd" and snes["learning_rate"] == 1.0
    assert snes["lr_std_init"] is None  # computed by evosax from the dimension
    de = optimizer_options("nevergrad:TwoPointsDE")
    assert de["crossover"] == "twopoints" and de["budget"] is None and de["sigma0"] == 0.3
    with pytest.raises(ValueError, match=r"unknown option\(s\) nope for optimizer 'evosax:SNES'; valid: "
                                         r"learning_rate, lr_std_init, optimizer, sigma0"):
        check_options("evosax:SNES", {"nope": 1})
    with pytest.raises(ValueError, match=r"option learning_rate of optimizer 'evosax:SNES' must be a number"):
        check_options("evosax:SNES", {"learning_rate": "fast"})
    with pytest.raises(ValueError, match=r"option sigma0 of optimizer 'nevergrad:DE' must be a number"):
        check_options("nevergrad:DE", {"sigma0": "wide"})
    with pytest.raises(ValueError, match=r"nevergrad:DE cannot be built with options \{'popsize': 'huge'\}"):
        build("nevergrad:DE", popsize="huge")
    with pytest.raises(ValueError, match="optimizer must be one of sgd, adam, clipup"):
        build("evosax:Open_ES", optimizer="rmsprop")
    with pytest.raises(ValueError, match="sigma0 must be finite and > 0"):
        build("nevergrad:NGOpt", sigma0=0.0)
    with pytest.raises(ValueError, match="budget must be an integer >= 1"):
        build("nevergrad:NGOpt", budget=0)


@pytest.mark.slow
def test_options_change_the_search():
    base = run(build("evosax:Open_ES"), 3)
    faster = run(build("evosax:Open_ES", learning_rate=0.1), 3)
    assert np.array_equal(base[0], faster[0]) and not np.array_equal(base[2], faster[2])
    snes = build("evosax:SNES", sigma0=0.05)
    snes.ask()
    np.testing.assert_allclose(np.asarray(snes._state.std), 0.05)  # sigma0 is evosax's std_init
    de = run(build("nevergrad:DE"), 4)
    other = run(build("nevergrad:DE", crossover="twopoints"), 4)
    assert not all(np.array_equal(a, b) for a, b in zip(de, other, strict=True))


def test_the_optax_defaults_are_the_libraries():
    """DEFAULT_OPTAX names the optax optimizer evosax builds each strategy with: the optimizer built from the table
    makes the same updates as the library's default."""
    import jax
    import jax.numpy as jnp
    import optax
    from evosax.algorithms import algorithms
    from evosax.core.optimizer import clipup

    from evolino.optimizers.evosax_strategies import DEFAULT_OPTAX

    with_optimizer = {n for n, cls in algorithms.items() if "optimizer" in inspect.signature(cls.__init__).parameters}
    assert set(DEFAULT_OPTAX) == with_optimizer
    gradients = [jnp.asarray(np.random.default_rng(k).normal(size=5)) for k in range(3)]
    for name, (kind, rate) in DEFAULT_OPTAX.items():
        if rate is None:
            continue
        library = inspect.signature(algorithms[name].__init__).parameters["optimizer"].default
        ours = clipup(learning_rate=rate, max_velocity=2 * rate) if kind == "clipup" else \
            getattr(optax, kind)(learning_rate=rate)
        with jax.enable_x64(True):
            states = [library.init(jnp.zeros(5)), ours.init(jnp.zeros(5))]
            for g in gradients:
                (a, states[0]), (b, states[1]) = library.update(g, states[0]), ours.update(g, states[1])
                np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, err_msg=name)


def test_errors_that_are_not_finite_tie_with_the_worst():
    np.testing.assert_array_equal(finite_stand_in(np.array([1.0, np.inf, 3.0, np.nan])), [1.0, 3.0, 3.0, 3.0])
    np.testing.assert_array_equal(finite_stand_in(np.array([np.inf, np.nan])), [1.0, 1.0])


# -------------------------------------------------------------------------------------------- every evosax strategy


@pytest.mark.slow
def test_every_evosax_strategy_runs_and_resumes_from_its_arrays():
    """All of them: three generations, pickled (the state as numpy arrays, no evosax object), the next ask equal."""
    for name in families()["evosax"].names():
        opt = build(f"evosax:{name}")
        run(opt, 3)
        state = opt.__getstate__()
        assert "_algo" not in state and all(isinstance(v, np.ndarray) for v in state["_state"].values()), name
        resumed = pickle.loads(pickle.dumps(opt))
        np.testing.assert_array_equal(opt.ask(), resumed.ask(), err_msg=name)
        assert np.isfinite(opt.best_error), name


NEVERGRAD_SAMPLE = ["NGOpt", "TBPSA", "DE", "TwoPointsDE", "PSO", "OnePlusOne", "CMA", "DiagonalCMA",
                    "RandomSearch", "ES", "PortfolioDiscreteOnePlusOne"]


@pytest.mark.parametrize("name", NEVERGRAD_SAMPLE)
def test_nevergrad_optimizers_replay_exactly_and_keep_global_random_states(name):
    random.seed(7)
    np.random.seed(7)  # noqa: NPY002
    before = (random.getstate(), np.random.get_state()[1].copy())  # noqa: NPY002
    opt = build(f"nevergrad:{name}", budget=80)
    run(opt, 4)
    state = opt.__getstate__()
    assert "_ng" not in state and all(isinstance(e, np.ndarray) for e in state["_errors"])
    resumed = pickle.loads(pickle.dumps(opt))
    assert resumed.resumed_exactly
    np.testing.assert_array_equal(run(opt, 2)[-1], run(resumed, 2)[-1])
    assert random.getstate() == before[0]
    np.testing.assert_array_equal(np.random.get_state()[1], before[1])  # noqa: NPY002


def test_a_nevergrad_optimizer_that_cannot_ask_a_population_says_so_in_one_line():
    with pytest.raises(ValueError, match=r"nevergrad:NelderMead cannot be built with options \{\}, population 8: "
                                         r".*does not support parallelization"):
        build("nevergrad:NelderMead", budget=80)


def test_a_replay_that_differs_says_so():
    opt = build("nevergrad:OnePlusOne")
    run(opt, 3)
    state = opt.__getstate__()
    state["_errors"][1] = state["_errors"][1][::-1].copy()  # not what was told: the replay asks other genomes
    changed = object.__new__(type(opt))
    changed.__setstate__(state)
    assert not changed.resumed_exactly


# ------------------------------------------------------------------------------------------ missing extra, the CLI


def test_a_missing_extra_is_one_line_naming_it(monkeypatch, capsys):
    family = families()["evosax"]
    monkeypatch.setattr(type(family), "available", lambda self: False)
    with pytest.raises(MissingExtra, match=r'evosax:NAME needs evosax, which is not installed: pip install '
                                           r'"evolino\[evosax\]"'):
        check_name("evosax:SNES")
    assert main(["run", "--optimizer", "evosax:SNES", "--generations", "1", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'pip install "evolino[evosax]"' in err[0]
    assert main(["optimizers"]) == 0
    out = capsys.readouterr().out
    assert 'evosax:NAME   (not installed: pip install "evolino[evosax]" adds every evosax strategy)' in out
    assert "nevergrad:NGOpt" in out and "cma " in out


def test_cli_lists_every_library_optimizer_with_defaults(capsys):
    assert main(["optimizers"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len([x for x in lines if x.startswith("evosax:")]) == len(families()["evosax"].names())
    assert len([x for x in lines if x.startswith("nevergrad:")]) == len(families()["nevergrad"].names())
    assert any(x.startswith("evosax:SNES ") and "learning_rate=1.0" in x for x in lines)
    assert any(x.startswith("nevergrad:TwoPointsDE ") and "crossover='twopoints'" in x for x in lines)


@pytest.mark.parametrize("argv, expected", [
    (["--optimizer", "evosax:Nope"], "valid: ARS, ASEBO"),
    (["--optimizer", "nevergrad:NGOpt", "--opt", "nope=1"], "valid: budget, sigma0"),
    (["--optimizer", "evosax:SNES", "--opt", "learning_rate=fast"], "must be a number"),
])
def test_cli_bad_names_and_options_are_one_line_exit_2(argv, expected, tmp_path, capsys):
    assert main(["run", *argv, "--generations", "1", "--out", str(tmp_path / "x"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("evolino: error:") and expected in err[0]
    assert not (tmp_path / "x").exists()


def _test_error(folder):
    return json.loads((folder / "result.json").read_text())["test_error"]


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", ["evosax:SNES", "nevergrad:NGOpt"])
def test_the_issue_commands_run_and_the_same_seed_gives_the_same_result(optimizer, tmp_path):
    folders = [tmp_path / "first", tmp_path / "second"]
    for folder in folders:
        assert main(["run", "--optimizer", optimizer, "--generations", "20", "--seed", "0", "--out", str(folder),
                     "--quiet", "--no-plots"]) == 0
    assert _test_error(folders[0]) == _test_error(folders[1])
    assert np.isfinite(_test_error(folders[0]))
    result = json.loads((folders[0] / "result.json").read_text())
    assert result["optimizer"] == optimizer and result["evaluations"] == 20 * 40


def test_the_trainer_tells_nevergrad_its_budget():
    import evolino

    task = evolino.make_task("mso1", train_end=100, validation_end=150, test_end=250, washout=20)
    fitted = evolino.Evolino(cells=2, optimizer="nevergrad:OnePlusOne", population=4, generations=3).fit(task)
    assert fitted.optimizer_.options["budget"] == 12
    fitted = evolino.Evolino(cells=2, optimizer="nevergrad:OnePlusOne", population=4, generations=3,
                             max_evaluations=8).fit(task)
    assert fitted.optimizer_.options["budget"] == 8


# ------------------------------------------------------------------------------------------- kill -9, then resume


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", ["evosax:SNES", "nevergrad:NGOpt"])
def test_sigkill_then_resume_equals_the_uninterrupted_run(optimizer, tmp_path):
    import signal
    import subprocess
    import sys

    from tests.test_checkpoint import TINY, _wait_for_checkpoint, assert_same_run

    config = tmp_path / "tiny.toml"
    config.write_text(TINY.replace("[optimizer]\n", f'[optimizer]\nname = "{optimizer}"\n'))
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    assert main(["run", "--config", str(config), "--out", str(reference), "--quiet"]) == 0
    proc = subprocess.Popen([sys.executable, "-m", "evolino", "run", "--config", str(config), "--out", str(killed),
                             "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_checkpoint(proc, killed, 12, timeout=180.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert not (killed / "result.json").exists()  # it really died mid-run
    assert main(["resume", str(killed), "--quiet", "--no-plots"]) == 0
    assert_same_run(reference, killed)
