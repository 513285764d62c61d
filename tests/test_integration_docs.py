"""The code of docs/integrations.md runs: every python block in order, in one namespace, with smaller budgets."""

import re
from pathlib import Path

import pytest

pytest.importorskip("aeon")
pytest.importorskip("sktime")

PAGE = Path(__file__).resolve().parents[1] / "docs" / "integrations.md"
SMALLER = [(r"generations=\d+", "generations=2"), (r"population=\d+", "population=8"),
           (r"n_kernels=\d+", "n_kernels=100")]


def blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), flags=re.S)


def test_the_page_has_the_promised_examples():
    code = "\n".join(blocks())
    for name in ("cross_val_score", "GridSearchCV", "ExpandingWindowSplitter", "evaluate(", "RocketClassifier",
                 "EvolinoRegressor", "predict_interval"):
        assert name in code


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore")
def test_the_page_runs(capsys):
    namespace: dict = {}
    for block in blocks():
        for pattern, small in SMALLER:
            block = re.sub(pattern, small, block)
        exec(compile(block, str(PAGE), "exec"), namespace)  # noqa: S102 - the documentation's own code
    assert "accuracy" in capsys.readouterr().out
    assert namespace["search"].best_params_["cells"] in (3, 5, 10)
