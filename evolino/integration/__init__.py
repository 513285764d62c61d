"""evolino inside the toolkits people already use: aeon, sktime and scikit-learn.

Thin adapters over evolino's own estimators (no second implementation of anything), each in an optional extra:

* :mod:`evolino.integration.aeon` (``pip install "evolino[aeon]"``): ``EvolinoClassifier`` (aeon's
  ``BaseClassifier``, over :class:`evolino.classifier.SequenceClassifier`) and ``EvolinoRegressor`` (aeon's
  ``BaseRegressor``, over :class:`evolino.regressor.SequenceRegressor`);
* :mod:`evolino.integration.sktime` (``pip install "evolino[sktime]"``): ``EvolinoForecaster`` (sktime's
  ``BaseForecaster``, over :class:`evolino.forecasting.Forecaster`).

They follow scikit-learn's conventions: every parameter is an ``__init__`` argument (``cells``, ``population``,
``generations``, ``optimizer``, ``validation_fraction``, ``random_state``, ...), so ``get_params`` /
``set_params`` / ``clone`` and grid searches work; fitted attributes end in ``_``; ``score`` is higher-is-better
(accuracy, R^2). The validation part evolino chooses its final model on is carved out of the training data given to
``fit`` (``validation_fraction``; stratified for classes, the last steps of a series), so a user never builds a
:class:`~evolino.tasks.Task`.

Importing this package needs neither toolkit; importing one of the modules without its toolkit raises an
ImportError that names the extra to install.
"""

__all__: list[str] = []
