"""A plain ``pip install -e .`` runs the default job; each optional feature names its extra when it is missing.

The extras' packages are hidden from a fresh interpreter (``sys.modules[name] = None`` makes their import fail), so
these tests check on the full test environment what a user without the extras meets."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

OPTIONAL = ("ray", "jax", "optuna", "mkdocs", "statsmodels", "statsforecast", "evosax", "nevergrad", "sklearn",
            "aeon", "sktime")


def _without_extras(code: str, tmp_path, hidden=OPTIONAL) -> subprocess.CompletedProcess:
    script = "import sys\n" + "".join(f"sys.modules[{name!r}] = None\n" for name in hidden) + textwrap.dedent(code)
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=600)


def test_the_default_job_runs_without_any_extra(tmp_path):
    done = _without_extras("""
        from evolino.cli import main
        status = main(["run", "--generations", "3", "--quiet", "--out", "run"])
        loaded = sorted(name for name in sys.modules if name.split(".")[0] in {OPTIONAL!r} and sys.modules[name])
        print("loaded:", loaded)
        sys.exit(status)
    """.replace("{OPTIONAL!r}", repr(set(OPTIONAL))), tmp_path)
    assert done.returncode == 0, done.stderr
    assert "loaded: []" in done.stdout
    assert (tmp_path / "run" / "result.json").is_file() and (tmp_path / "run" / "learning_curve.png").is_file()


def test_the_ray_backend_without_ray_names_its_extra_in_one_line(tmp_path):
    done = _without_extras("""
        from evolino.cli import main
        sys.exit(main(["run", "--backend", "ray", "--generations", "1", "--quiet", "--out", "run"]))
    """, tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        'evolino: error: the ray backend needs ray, which is not installed: pip install "evolino[ray]"']
    assert not (tmp_path / "run").exists()


def test_a_sweep_without_ray_tune_names_its_extra(tmp_path):
    (tmp_path / "sweep.toml").write_text('[sweep]\n[sweep.space]\n"network.cells" = [2, 3]\n')
    done = _without_extras("""
        from evolino.cli import main
        sys.exit(main(["sweep", "sweep.toml", "--out", "s"]))
    """, tmp_path, hidden=("ray.tune",))
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1].endswith('pip install "evolino[tune]"')


def test_the_jax_kernel_without_jax_names_its_extra(tmp_path):
    done = _without_extras("""
        import os
        os.environ["EVOLINO_KERNEL"] = "jax"
        from evolino.cli import main
        sys.exit(main(["run", "--generations", "1", "--quiet", "--out", "run"]))
    """, tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().endswith('pip install "evolino[jax]"')
