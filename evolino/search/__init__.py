"""Program search: universal (Levin) search for programs whose output fits a task, such as programs that write a
network's weights (Schmidhuber, Discovering neural nets with low Kolmogorov complexity and high generalization
capability, Neural Networks 10(5), 1997). See :mod:`evolino.search.levin` and docs/levin-search.md."""

from evolino.search.levin import (
    LevinResult,
    Machine,
    ProgramRun,
    WeightMachine,
    WeightState,
    levin_search,
    phase_programs,
    step_limits,
)
from evolino.tasks.counting import CountingTask, counting_inputs_task

__all__ = ["CountingTask", "LevinResult", "Machine", "ProgramRun", "WeightMachine", "WeightState",
           "counting_inputs_task", "levin_search", "phase_programs", "step_limits"]
