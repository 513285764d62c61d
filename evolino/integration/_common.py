"""What the adapters share: the evolution's settings from flat parameters, and a seed from scikit-learn's
``random_state``."""

from __future__ import annotations

import numpy as np

from evolino.trainer import Evolino

__all__ = ["seed_from", "make_evolino", "SEED_LIMIT"]

SEED_LIMIT = 2**31 - 1  # seeds drawn from a Generator / RandomState are below this




def seed_from(random_state) -> int:
    """An int seed from a ``random_state`` as scikit-learn accepts it: an int (itself), None (fresh entropy from
    the operating system, never numpy's global state), a ``numpy.random.Generator`` or ``RandomState`` (one draw
    from it)."""
    if random_state is None:
        return int(np.random.default_rng().integers(SEED_LIMIT))
    if isinstance(random_state, (bool, np.bool_)):
        raise ValueError(f"random_state must be an int, None, a Generator or a RandomState, got {random_state!r}")
    if isinstance(random_state, (int, np.integer)):
        if random_state < 0:
            raise ValueError(f"random_state must be a non-negative int, got {random_state!r}")
        return int(random_state)
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(SEED_LIMIT))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(SEED_LIMIT))
    raise ValueError(f"random_state must be an int, None, a Generator or a RandomState, got {random_state!r}")


def make_evolino(cells: int | None, population: int, generations: int, optimizer: str, seed: int,
                 options: dict | None) -> Evolino:
    """The :class:`~evolino.trainer.Evolino` of an adapter's flat parameters; ``options`` are any further
    ``Evolino`` settings by name (``ridge``, ``max_seconds``, ...), and may not repeat the flat ones."""
    options = dict(options or {})
    repeated = sorted(set(options) & {"cells", "population", "generations", "optimizer", "seed"})
    if repeated:
        raise ValueError(f"evolino_options may not set {', '.join(repeated)}: they are parameters of the adapter "
                         "(seed: random_state)")
    return Evolino(cells=cells, population=population, generations=generations, optimizer=optimizer, seed=seed,
                   **options)
