"""evolino: Evolino neuroevolution of LSTM networks, vectorised over the population.

    >>> import evolino
    >>> estimator = evolino.Evolino(cells=10, generations=50, seed=0).fit(evolino.make_task("mso2"))
    >>> estimator.result_.test_error, estimator.model_
"""

from evolino.classifier import SequenceClassifier
from evolino.fitness import EvolinoProblem, evaluate_genomes
from evolino.forecasting import Forecaster, ForecastModel
from evolino.metrics import score
from evolino.model import EvolinoModel
from evolino.network import LSTMSpec
from evolino.optimizers import make_optimizer, optimizer_names
from evolino.readout import ReadoutConfig, fit_readout
from evolino.regressor import SequenceRegressor
from evolino.scaling import Standardizer
from evolino.tasks import SequencePair, Table, Task, data_task, make_task, read_table, register_task, task_names
from evolino.trainer import Evolino, FitResult, RunControls

__version__ = "0.1.0"

__all__ = [
    "Evolino", "EvolinoModel", "EvolinoProblem", "FitResult", "ForecastModel", "Forecaster", "LSTMSpec",
    "ReadoutConfig", "SequencePair", "Standardizer", "Table", "Task", "data_task", "evaluate_genomes", "fit_readout",
    "make_optimizer", "make_task", "optimizer_names", "read_table", "register_task", "RunControls", "score",
    "SequenceClassifier", "SequenceRegressor", "task_names",
]
