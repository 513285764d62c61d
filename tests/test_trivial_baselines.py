"""The trivial models' order choice: both modes chosen from one fit per order give each mode's own choice, the
one made from a separate least-squares fit and score per order."""

import numpy as np

from evolino.baselines.trivial import _Linear, _max_order, choose_ar_order, choose_ar_orders
from evolino.tasks import make_task


def _separate_choice(task, free_run: bool) -> int:
    """The order chosen the plain way: every order fitted and scored on its own, in one mode."""
    errors = []
    for order in range(1, _max_order(task, 30) + 1):
        model = _Linear(task, order)
        lines = model.lines([[tr, va] for tr, va in zip(task.train, task.validation, strict=True)])
        stops = [tr.steps for tr in task.train]
        weights = model.fit(lines, stops, task.washout)
        targets, outputs = [], []
        for line, stop in zip(lines, stops, strict=True):
            if free_run:
                out = model.free_run(line, weights, stop, line.steps - stop)
            else:
                out = model.predict(line, weights, stop, line.steps)
            targets.append(line.targets[stop:])
            outputs.append(out)
        targets, outputs = np.concatenate(targets), np.concatenate(outputs)
        errors.append(np.sqrt(np.mean((outputs - targets) ** 2) / np.var(targets)))
    return int(np.argmin(errors)) + 1


def test_orders_chosen_together_are_each_modes_own_choice():
    task = make_task("mso1", train_end=200, validation_end=260, test_end=300, washout=20)
    orders = choose_ar_orders(task, (False, True))
    assert orders == [choose_ar_order(task), choose_ar_order(task, free_run=True)]
    assert orders == [_separate_choice(task, False), _separate_choice(task, True)]
    assert choose_ar_orders(task) == orders[:1]

