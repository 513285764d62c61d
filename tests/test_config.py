"""Run configuration: TOML round trip, flags over file over defaults, and a table of bad inputs that must each end
in one line on stderr and exit status 2 (never a traceback)."""

import subprocess
import sys
from dataclasses import asdict

import pytest

from evolino.cli import main, parse_options
from evolino.config import (
    RunConfig,
    apply_overrides,
    config_from_dict,
    config_to_toml,
    estimator_params,
    load_config,
    tomllib,  # the standard library one, or tomli before Python 3.11
)
from evolino.errors import ConfigError

# Each bad run must fail before training; the tiny budget only bounds the damage if validation ever let one pass.
SAFE = ["--generations", "1", "--population", "2", "--cells", "1", "--quiet", "--no-plots"]

BAD_INPUTS = [
    # (TOML text or None, extra flags, text the one-line error must contain)
    ("seed = 1\n[network]\ncels = 3\n", [], "network.cels"),
    ("colour = 'red'\n", [], "colour"),
    ("[networks]\ncells = 3\n", [], "networks"),
    ("[network]\ncells = 'ten'\n", [], "network.cells"),
    ("[network]\ncells = 0\n", [], "network.cells"),
    ("[network]\ncells = 2.5\n", [], "network.cells"),
    ("[network]\npeepholes = 1\n", [], "network.peepholes"),
    ("[network]\nfeedback = 'sometimes'\n", [], "network.feedback"),
    ("[network]\nfeedback_scale = -1.0\n", [], "network.feedback_scale"),
    ("[readout]\nrcond = 1.5\n", [], "readout.rcond"),
    ("[readout]\nridge = -0.1\n", [], "readout.ridge"),
    ("[readout]\nridge = nan\n", [], "readout.ridge"),
    ("[optimizer]\nname = 'sgd'\n", [], "optimizer.name"),
    ("[optimizer]\npopulation = -4\n", [], "optimizer.population"),
    ("[optimizer]\noptions = { bogus = 1 }\n", [], "bogus"),
    ("[optimizer]\noptions = { sigma0 = -1.0 }\n", [], "optimizer.options: sigma0"),
    ("[optimizer]\nname = 'cma'\noptions = { separable = 'maybe' }\n", [], "optimizer.options: option separable"),
    ("[optimizer]\noptions = { separable = true }\n", [], "unknown option(s) separable for optimizer 'sep-cma'"),
    ("[optimizer]\nname = 'esp'\noptions = { trials = 2.5 }\n", [], "option trials of optimizer 'esp'"),
    ("[optimizer]\npopulation = 1\n", [], "optimizer.population: CMA-ES needs a population of at least 2"),
    (None, ["--opt", "sigma0=abc"], "must be a number"),
    ("[stop]\ngenerations = 0\n", [], "stop.generations"),
    ("[stop]\nmax_seconds = 0\n", [], "stop.max_seconds"),
    ("[stop]\ntarget_error = 'low'\n", [], "stop.target_error"),
    ("[backend]\nname = 'gpu'\n", [], "backend.name"),
    ("[backend]\nworkers = 2\n", [], "backend.workers"),
    ("[backend]\nname = 'ray'\nchunks_per_worker = 0\n", [], "backend.chunks_per_worker"),
    (None, ["--chunks-per-worker", "3"], "backend.chunks_per_worker"),
    (None, ["--init-scale", "0"], "network.init_scale"),
    ("[task]\nname = 'mso99'\n", [], "task.name"),
    ("[task]\noptions = { frequency = 3 }\n", [], "task.options"),
    ("[task]\ntime = 'month'\n", [], "task.time describes a data file"),
    ("[task]\ndata = 'x.csv'\ntime = true\n", [], "task.time must be a string or an integer"),
    (None, ["--time", "month"], "--time: task.time describes a data file"),
    ("network = 3\n", [], "network"),
    ("seed = -1\n", [], "seed"),
    ("[output]\ncheckpoint_every = -1\n", [], "output.checkpoint_every"),
    ("[network\ncells = 3\n", [], "invalid TOML"),
    (None, ["--config", "does-not-exist.toml"], "not found"),
    (None, ["--cells", "zero"], "--cells"),
    (None, ["--rcond", "2"], "readout.rcond"),
    (None, ["--ridge", "-1"], "--ridge"),
    (None, ["--seed", "-3"], "--seed"),
    (None, ["--opt", "sigma0"], "--opt"),
    (None, ["--opt", "nonsense=2"], "nonsense"),
    (None, ["--backend", "serial", "--address", "auto"], "backend.address"),
    (None, ["--task", "nope"], "task.name"),
    (None, ["--optimizer", "nope"], "optimizer.name"),
    (None, ["--target-error", "inf"], "--target-error"),
    (None, ["--max-seconds", "-5"], "--max-seconds"),
    (None, ["--checkpoint-every", "x"], "--checkpoint-every"),
    (None, ["--no-such-flag"], "--no-such-flag"),
]


@pytest.mark.parametrize("toml_text, flags, expected", BAD_INPUTS)
def test_bad_config_or_flag_is_one_line_exit_2(tmp_path, capsys, toml_text, flags, expected):
    argv = ["run", *SAFE, "--out", str(tmp_path / "out")]
    if toml_text is not None:
        path = tmp_path / "bad.toml"
        path.write_text(toml_text)
        argv += ["--config", str(path)]
    status = main(argv + flags)
    err = capsys.readouterr().err
    assert status == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("evolino: error:"), err
    assert expected in err and "Traceback" not in err
    assert not (tmp_path / "out" / "result.json").exists()


def test_bad_config_in_a_real_process_prints_no_traceback(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[stop]\ngenerations = 'many'\n")
    proc = subprocess.run([sys.executable, "-m", "evolino", "run", "--config", str(path)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"evolino: error: {path}: stop.generations must be an integer, "
                                                "got 'many' (string)"]


def test_toml_round_trip_keeps_every_value():
    config = config_from_dict({"seed": 7, "task": {"name": "mso3", "options": {"test_end": 900}},
                               "network": {"cells": 4, "feedback": True, "feedback_scale": 0.1 + 0.2},
                               "readout": {"rcond": 1e-15, "ridge": 3e-9},
                               "optimizer": {"name": "sep-cma", "options": {"sigma0": 0.05}},
                               "stop": {"target_error": 1e-7, "max_evaluations": 1000},
                               "output": {"dir": 'we"ird\\path', "plots": False}})
    text = config_to_toml(config)
    path_free = config_from_dict(tomllib.loads(text))
    assert asdict(path_free) == asdict(config)
    assert path_free.network.feedback_scale == 0.1 + 0.2  # floats survive bit for bit
    assert "max_seconds" not in text  # None means absent


def test_flags_override_file_which_overrides_defaults(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("seed = 5\n[network]\ncells = 4\n[optimizer]\nname = \"cma\"\noptions = { sigma0 = 0.2 }\n")
    config = apply_overrides(load_config(path), {"network.cells": 6, "optimizer.options": {"separable": True},
                                                 "stop.generations": None})
    assert config.seed == 5 and config.network.cells == 6 and config.stop.generations == RunConfig().stop.generations
    assert config.optimizer.options == {"sigma0": 0.2, "separable": True}
    params = estimator_params(config)
    assert params["cells"] == 6 and params["feedback"] is None and params["optimizer_options"]["sigma0"] == 0.2


def test_ray_settings_reach_the_backend_options():
    config = config_from_dict({"backend": {"name": "ray", "workers": 2, "chunks_per_worker": 3}})
    assert estimator_params(config)["backend_options"] == {"workers": 2, "chunks_per_worker": 3}
    assert estimator_params(RunConfig())["backend_options"] == {}


def test_opt_values_parse_like_a_config_file_writes_them():
    parsed = parse_options(["separable=true", "crossover=False", "sigma0=0.1", "trials=4", "credit=mean", "x=[1, 2]"])
    assert parsed == {"separable": True, "crossover": False, "sigma0": 0.1, "trials": 4, "credit": "mean",
                      "x": [1, 2]}
    assert type(parsed["trials"]) is int


def test_an_int_is_accepted_for_a_float_key_but_not_the_reverse():
    assert config_from_dict({"readout": {"ridge": 0}}).readout.ridge == 0.0
    assert isinstance(config_from_dict({"readout": {"ridge": 0}}).readout.ridge, float)
    with pytest.raises(ConfigError, match="network.cells"):
        config_from_dict({"network": {"cells": 3.0}})


def test_every_default_of_the_config_is_the_estimators_own():
    """One source per default: a run with no settings is Evolino() with no arguments (empty option tables are the
    estimator's None)."""
    import inspect

    from evolino.config import RunConfig, estimator_params
    from evolino.trainer import Evolino

    defaults = {name: p.default for name, p in inspect.signature(Evolino).parameters.items()}
    given = {name: (None if value in ({}, ()) else value) for name, value in estimator_params(RunConfig()).items()}
    assert {name: (value, defaults[name]) for name, value in given.items() if value != defaults[name]} == {}
