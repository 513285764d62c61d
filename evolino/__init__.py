"""evolino: Evolino neuroevolution of LSTM networks, vectorised over the population.

    >>> import evolino
    >>> result = evolino.Evolino(cells=10, generations=50, seed=0).fit(evolino.make_task("mso2"))
"""

from evolino.fitness import EvolinoProblem, evaluate_genomes
from evolino.model import EvolinoModel
from evolino.network import LSTMSpec
from evolino.optimizers import make_optimizer, optimizer_names
from evolino.readout import ReadoutConfig, fit_readout
from evolino.tasks import SequencePair, Task, make_task, register_task, task_names
from evolino.trainer import Evolino, FitResult

__version__ = "0.1.0"

__all__ = [
    "Evolino", "EvolinoModel", "EvolinoProblem", "FitResult", "LSTMSpec", "ReadoutConfig", "SequencePair", "Task",
    "evaluate_genomes", "fit_readout", "make_optimizer", "make_task", "optimizer_names", "register_task",
    "task_names",
]
