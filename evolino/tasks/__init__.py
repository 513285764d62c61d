"""Tasks: the :class:`Task` type, the registry of named tasks, the built-in benchmark tasks, and tasks from your own
data files (:func:`data_task`; files are read by :mod:`evolino.tasks.table`, their dates by
:mod:`evolino.tasks.dates`)."""

from evolino.tasks import languages, long_lag, mackey_glass, oscillators  # noqa: F401  (register the built-in tasks)
from evolino.tasks.base import SequencePair, Task, make_task, register_task, task_description, task_names
from evolino.tasks.data import Table, data_task, read_table

__all__ = ["SequencePair", "Table", "Task", "data_task", "make_task", "read_table", "register_task",
           "task_description", "task_names"]
