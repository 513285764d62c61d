# evolino on the official Ray image: the Ray (2.60.0) and Python (3.11) versions pinned in pyproject.toml.
# Build: docker compose build   (or: docker build -t evolino-ray .)
FROM rayproject/ray:2.60.0-py311-cpu

ENV RAY_USAGE_STATS_ENABLED=0 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Copied as the image's user (ray), so that pip can build in place and runs can write their output folders.
COPY --chown=ray:users pyproject.toml README.md /home/ray/evolino/
COPY --chown=ray:users evolino /home/ray/evolino/evolino
# The `cluster` extra is ray[default] at the image's own version: pip keeps the image's Ray and adds evolino's deps;
# `tune` adds Ray Tune and Optuna for sweeps.
RUN pip install --no-cache-dir "/home/ray/evolino[cluster,tune]" \
    && python -c "import ray, evolino; assert ray.__version__ == '2.60.0', ray.__version__" \
    && mkdir -p /home/ray/work

WORKDIR /home/ray/work
