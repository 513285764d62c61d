"""Tasks: the :class:`Task` type, the registry of named tasks, and the built-in benchmark tasks."""

from evolino.tasks import languages, oscillators  # noqa: F401  (register the built-in tasks)
from evolino.tasks.base import SequencePair, Task, make_task, register_task, task_description, task_names

__all__ = ["SequencePair", "Task", "make_task", "register_task", "task_description", "task_names"]
