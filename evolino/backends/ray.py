"""The Ray backend: long-lived actors on local cores or on a Ray cluster, each holding the problem once.

Every generation the population is cut into contiguous chunks (``chunks_per_worker`` per actor: one on a single node,
more for load balance when the actors span nodes), each chunk is scored with ``problem.evaluate`` inside an actor, and
the errors are put back in population order.
A genome's error never depends on its batch, so the result is bit-identical to the serial backend whatever the
chunking, the worker count or the nodes.

Fault tolerance: evaluation is idempotent, so a chunk whose actor (or node) dies is handed to a live actor, and a
replacement actor is started that joins the pool once it is up. Only when no actor is left does a run fail.

Connecting: no address (and no ``RAY_ADDRESS``) starts a private local Ray with this machine's cores;
``auto``, ``HOST:PORT`` (the GCS port) and ``ray://HOST:PORT`` (the Ray client port) join an existing cluster. Every
attempt is bounded by ``connect_timeout``; errors the user can fix raise :class:`evolino.errors.ClusterError`.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time
from collections import deque

import numpy as np

from evolino.backends.shared_population import SharedPopulation, SharedRowsReader
from evolino.errors import ClusterError
from evolino.kernels import limit_compiled_threads

__all__ = ["RayEvaluator", "chunk_bounds", "parse_address"]

SINGLE_NODE_CHUNKS_PER_WORKER = 1  # actors on one node run on identical cores: nothing to balance
MULTI_NODE_CHUNKS_PER_WORKER = 4  # nodes may differ: beyond the PIPELINE_DEPTH queued chunks, the fastest take more
DEFAULT_CONNECT_TIMEOUT = 20.0
CLIENT_DEADLINE_FACTOR = 3  # a ray:// handshake may take this many connect timeouts (see connect)
DEFAULT_READY_TIMEOUT = 60.0
INLINE_BYTES = 16 * 1024 * 1024  # largest task argument a local Ray started here sends inline
PIPELINE_DEPTH = 2  # chunks queued per actor, so an actor never idles while the driver hands out the next one
STRAGGLER_GRACE = 10.0  # seconds the other actors get once the first is up (a busy cluster may have no CPU now)
AUTH_HINT = ("if the cluster uses token authentication, set RAY_AUTH_TOKEN (or RAY_AUTH_TOKEN_PATH) to its token "
             "and RAY_AUTH_MODE=token")


def chunk_bounds(n: int, chunks: int) -> list[tuple[int, int]]:
    """Split ``range(n)`` into at most ``chunks`` contiguous, non-empty, nearly equal ``(start, stop)`` pieces."""
    chunks = max(1, min(int(chunks), int(n)))
    edges = np.linspace(0, n, chunks + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def parse_address(address: str | None) -> tuple[str | None, tuple[str, int] | None]:
    """Normalise a Ray address and find the TCP endpoint to probe before connecting.

    Returns ``(address for ray.init or None to start a local Ray, (host, port) or None)``.
    """
    if address is None or not str(address).strip():
        return None, None
    address = str(address).strip()
    if address in ("auto", "local"):
        return (None if address == "local" else "auto"), None
    rest = address
    if address.startswith("ray://"):
        rest = address[len("ray://"):]
    elif "://" in address:
        raise ClusterError(f"unsupported Ray address {address!r}: use auto, HOST:PORT (the GCS port, 6379 by default) "
                           "or ray://HOST:PORT (the client port, 10001); http://HOST:8265 is for `ray job submit`")
    host, sep, port_text = rest.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ClusterError(f"bad Ray address {address!r}: expected auto, HOST:PORT or ray://HOST:PORT")
    return address, (host, int(port_text))


def _probe(host: str, port: int, timeout: float) -> None:
    """Fail fast when nothing listens: ray.init would otherwise retry for minutes."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ClusterError(f"cannot reach a Ray cluster at {host}:{port}: {reason}") from None


def _check_gcs(host: str, port: int, timeout: float) -> None:
    """Ask the GCS one question: a wrong or missing token fails here at once, where ray.init would retry."""
    try:
        from ray._raylet import GcsClient  # not public API: skip the check if it moved
    except ImportError:
        return

    def ask() -> None:
        GcsClient(address=f"{host}:{port}").internal_kv_get(b"evolino-probe", namespace=None, timeout=timeout)

    try:
        _call_with_deadline(ask, timeout + 1.0, f"the Ray cluster at {host}:{port}")
    except ClusterError:
        raise
    except Exception as exc:  # noqa: BLE001  (AuthenticationError, RpcError, GetTimeoutError...)
        raise _as_cluster_error(exc, f"the Ray cluster at {host}:{port}") from None


def _auto_endpoint() -> tuple[str, int] | None:
    """The GCS endpoint that ``address="auto"`` would use, to probe it first (None if Ray cannot tell)."""
    try:
        from ray._private.services import canonicalize_bootstrap_address

        found = canonicalize_bootstrap_address("auto")
    except Exception:  # noqa: BLE001  (no running cluster, or a private API that moved: ray.init will say)
        return None
    if not found:
        return None
    host, _, port = found.rpartition(":")
    return (host, int(port)) if port.isdigit() else None


def _set_auth_environment(starting_local: bool) -> None:
    """Make the authentication mode explicit before Ray reads it (Ray 2.60 turns token auth on by default).

    A local Ray started here runs without tokens unless the user says otherwise; joining a cluster with a token in
    the environment means token mode.
    """
    if starting_local:
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    elif os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH"):
        os.environ.setdefault("RAY_AUTH_MODE", "token")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


def _call_with_deadline(function, timeout: float, what: str):
    """Run ``function()`` in a daemon thread; ClusterError if it has not returned after ``timeout`` seconds."""
    outcome: dict = {}

    def target() -> None:
        try:
            outcome["value"] = function()
        except BaseException as exc:  # noqa: BLE001  (handed to the caller's thread)
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="evolino-ray-connect", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise ClusterError(f"no answer from {what} within {timeout:g}s: is it a Ray GCS port? {AUTH_HINT}")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


class _QuietThreadWarning(logging.Filter):
    """Ray warns that a driver connected from a helper thread has no SIGTERM handler: expected here, and noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "not the main thread" not in record.getMessage()


logging.getLogger("ray._private.worker").addFilter(_QuietThreadWarning())


def _as_cluster_error(exc: BaseException, what: str) -> ClusterError:
    text = " ".join(str(exc).split())
    if "auth" in text.lower() or "token" in text.lower() or type(exc).__name__ == "AuthenticationError":
        return ClusterError(f"authentication with {what} failed: set RAY_AUTH_TOKEN (or RAY_AUTH_TOKEN_PATH) to the "
                            "cluster's token and RAY_AUTH_MODE=token")
    if len(text) > 200:
        text = text[:200] + "..."
    return ClusterError(f"cannot connect to {what}: {type(exc).__name__}: {text}")


def connect(address: str | None, timeout: float, num_cpus: int | None = None) -> bool:
    """Start or join Ray. Returns True if this call initialised Ray (and so should shut it down).

    ``num_cpus`` sets the CPUs of a local Ray started here (default: this machine's cores).
    """
    import ray

    if ray.is_initialized():  # a caller (a test session, a notebook) already chose the cluster
        return False
    if address is None:
        address = os.environ.get("RAY_ADDRESS") or None
    init_address, endpoint = parse_address(address)
    if num_cpus is not None and init_address is not None:
        raise ClusterError("num_cpus sets the size of a local Ray; a cluster's nodes declare their own CPUs")
    _set_auth_environment(starting_local=init_address is None)
    if init_address is None:
        what = "the local Ray it started"
        # Ray runs workers at nice 15; the actors of a Ray started for this run are the run, so they get its priority.
        # address="local": a new Ray even when a `ray start` cluster on this machine would be found otherwise.
        # Chunks up to INLINE_BYTES travel inside the task message instead of through the object store (a put and a
        # fetch per chunk): about 2 ms less per generation on 2 cores. A cluster keeps its own limit (100 KB default).
        kwargs = {"address": "local", "num_cpus": num_cpus or os.cpu_count() or 1, "include_dashboard": False,
                  "_system_config": {"worker_niceness": 0, "max_direct_call_object_size": INLINE_BYTES}}
    else:
        what = f"the Ray cluster at {address}"
        kwargs = {"address": init_address}
        if init_address == "auto":
            endpoint = _auto_endpoint()
            if endpoint is None:
                raise ClusterError("address 'auto' found no running Ray cluster on this machine (start one with "
                                   "`ray start --head`, or give --address HOST:PORT)")
        _probe(*endpoint, timeout=min(5.0, timeout))
        if not init_address.startswith("ray://"):
            _check_gcs(*endpoint, timeout=min(5.0, timeout))
    kwargs.update(logging_level=logging.WARNING, log_to_driver=True, configure_logging=True)
    started = time.monotonic()
    try:
        if init_address is None:  # starting processes needs the main thread (signal handlers) and cannot hang
            ray.init(**kwargs)
        else:
            # The client server starts a driver process for each ray:// connection: seconds more than a GCS join,
            # and past 20 s on a busy 2-core machine (seen in tests). The port answered the probe, so waiting
            # longer only delays an error for a server that is up but stuck.
            deadline = timeout * CLIENT_DEADLINE_FACTOR if init_address.startswith("ray://") else timeout
            _call_with_deadline(lambda: ray.init(**kwargs), deadline, what)
    except ClusterError:
        raise
    except Exception as exc:  # noqa: BLE001  (Ray raises ConnectionError, RuntimeError, AuthenticationError...)
        raise _as_cluster_error(exc, what) from None
    logging.getLogger(__name__).debug("connected to Ray in %.1fs", time.monotonic() - started)
    return True


# An actor holds one CPU: these cap the thread pools of libraries it loads later (numba, if loaded, is told directly).
THREAD_VARIABLES = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class _ChunkWorker:
    """Actor body: holds one copy of the problem and scores chunks of genomes with it on ``threads`` cores."""

    def __init__(self, problem, threads: int = 1) -> None:
        for name in THREAD_VARIABLES:
            os.environ[name] = str(threads)
        self.threads = threads
        self.problem = problem  # Ray resolves the ObjectRef: one object-store read per actor, not per generation
        self.shared = SharedRowsReader()

    def locate(self, shared_path: str | None) -> tuple[str, bool]:
        """This actor's node id, and whether it sees the driver's shared population file (same host)."""
        import ray

        return ray.get_runtime_context().get_node_id(), self.shared.can_see(shared_path)

    def evaluate(self, genomes: np.ndarray) -> np.ndarray:
        """Errors of one chunk of genomes (k, d) -> (k,)."""
        limit_compiled_threads(self.threads)  # two actors with full-width pools would oversubscribe a node
        return self.problem.evaluate(genomes)

    def evaluate_shared(self, path: str, start: int, stop: int) -> np.ndarray:
        """Errors of rows ``start:stop`` of the driver's shared population file."""
        return self.evaluate(self.shared.rows(path, start, stop))


class RayEvaluator:
    """Evaluate populations on Ray actors.

    Parameters
    ----------
    problem : object with ``evaluate(genomes (n, d)) -> errors (n,)``, picklable (e.g. EvolinoProblem)
    address : str, optional
        ``auto``, ``HOST:PORT``, ``ray://HOST:PORT``; default ``RAY_ADDRESS`` or a new local Ray.
    workers : int, optional
        Cap on the number of actors (one CPU each); default every CPU of the cluster.
    chunks_per_worker : int, optional
        Chunks per actor and generation. Each actor has ``PIPELINE_DEPTH`` (2) chunks queued at once; chunks beyond
        those go to whichever actor frees a slot first, so more than 2 per actor balance uneven nodes, at about
        1.5 ms per extra chunk on a 2-core machine. Default (None): 1 while every actor is on one node, 4 when they
        span nodes (decided each generation, so it follows actors replaced on other nodes).
    connect_timeout : float
        Seconds allowed for joining a cluster.
    ready_timeout : float
        Seconds to wait for the first actor; the others get a few more seconds, then join the pool whenever they
        are up (a busy cluster may have no free CPU for them yet).
    num_cpus : int, optional
        CPUs of the local Ray started when there is no address (default: this machine's cores).
    shared_memory : bool
        Hand the actors on the driver's host their rows through a shared-memory file instead of inside each task
        (:mod:`evolino.backends.shared_population`); actors on other hosts always get their chunk with the task.
    """

    name = "ray"

    def __init__(
        self,
        problem,
        address: str | None = None,
        workers: int | None = None,
        chunks_per_worker: int | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        ready_timeout: float = DEFAULT_READY_TIMEOUT,
        num_cpus: int | None = None,
        shared_memory: bool = True,
    ) -> None:
        for key, value in (("workers", workers), ("chunks_per_worker", chunks_per_worker), ("num_cpus", num_cpus)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                                      or value < 1):
                raise ValueError(f"{key} must be a positive integer, got {value!r}")
        for key, value in (("connect_timeout", connect_timeout), ("ready_timeout", ready_timeout)):
            if not (isinstance(value, (int, float)) and np.isfinite(value) and value > 0):
                raise ValueError(f"{key} must be a positive number of seconds, got {value!r}")
        self.problem = problem
        self.chunks_per_worker = None if chunks_per_worker is None else int(chunks_per_worker)
        self.chunk_nodes: list[str] = []  # node id of the actor that scored each chunk of the last generation
        self.resubmitted = 0  # chunks re-run after their actor died, over the evaluator's life
        self._actors: list = []
        self._node_of: dict = {}
        self._pending: dict = {}  # locate ref -> actor not yet known to be up
        self._sees_shared: dict = {}  # actor -> reads its rows from the shared population file
        self._shared = None
        self._closed = False
        self._owns_ray = connect(address, float(connect_timeout), num_cpus)
        try:
            self._shared = SharedPopulation() if shared_memory else None
            self._start_actors(workers, float(ready_timeout))
        except BaseException:
            self.close()
            raise

    # -- actors -------------------------------------------------------------------------------------------------
    def _start_actors(self, workers: int | None, ready_timeout: float) -> None:
        import ray

        cpus = int(ray.cluster_resources().get("CPU", 0))
        if cpus < 1:
            raise ClusterError("the Ray cluster has no CPUs to run evaluation actors on")
        self.target_workers = cpus if workers is None else min(int(workers), cpus)
        # max_restarts=0: a dead actor is replaced by a fresh one here, and its chunk handed to a live actor.
        self._actor_class = ray.remote(num_cpus=1, max_restarts=0, max_task_retries=0)(_ChunkWorker)
        self._problem_ref = ray.put(self.problem)  # once: every actor reads the same object
        for _ in range(self.target_workers):
            self._add_actor()
        started = time.monotonic()
        ready, _ = ray.wait(list(self._pending), num_returns=1, timeout=ready_timeout)
        self._promote(ready)
        if self._actors and self._pending:  # the others get a grace period, then join whenever they are up
            grace = min(STRAGGLER_GRACE, max(0.0, ready_timeout - (time.monotonic() - started)))
            ready, _ = ray.wait(list(self._pending), num_returns=len(self._pending), timeout=grace)
            self._promote(ready)
        if not self._actors:
            raise ClusterError(f"no Ray evaluation actor started within {ready_timeout:g}s "
                               "(does the cluster have free CPUs?)")

    def _add_actor(self) -> None:
        actor = self._actor_class.options(scheduling_strategy="SPREAD").remote(self._problem_ref)
        self._pending[actor.locate.remote(self._shared.path if self._shared else None)] = actor

    def _promote(self, ready_refs) -> None:
        import ray

        for ref in ready_refs:
            actor = self._pending.pop(ref)
            try:
                self._node_of[actor], self._sees_shared[actor] = ray.get(ref)
            except _lost_errors() as exc:
                if getattr(exc, "actor_init_failed", False):  # would fail the same way on every node
                    raise ClusterError(f"an evaluation actor could not start: {_last_error_line(exc)} (the problem "
                                       "must unpickle on every node: install the modules it needs there)") from None
                self._add_actor()  # died while starting (node lost): try again elsewhere
                continue
            self._actors.append(actor)

    def _promote_ready(self) -> None:
        import ray

        if self._pending:
            ready, _ = ray.wait(list(self._pending), num_returns=len(self._pending), timeout=0)
            self._promote(ready)

    def _lose(self, actor) -> None:
        import ray

        self._actors.remove(actor)
        self._node_of.pop(actor, None)
        self._sees_shared.pop(actor, None)
        try:
            ray.kill(actor, no_restart=True)
        except Exception:  # noqa: BLE001  (already gone)
            pass
        self._add_actor()  # joins once the cluster has a CPU for it

    @property
    def workers(self) -> int:
        """Actors currently evaluating."""
        return len(self._actors)

    def actor_nodes(self) -> list[str]:
        """Node id of every live actor."""
        return [self._node_of[a] for a in self._actors]

    @property
    def shared_memory_workers(self) -> int:
        """Actors that read their rows from the driver's shared-memory file (those on the driver's host)."""
        if self._shared is None or not self._shared.available:
            return 0
        return sum(bool(self._sees_shared.get(actor)) for actor in self._actors)

    def chunks_per_actor(self) -> int:
        """Chunks per actor for the next generation: the option, or the default for where the actors are now."""
        if self.chunks_per_worker is not None:
            return self.chunks_per_worker
        spans_nodes = len(set(self._node_of.values())) > 1
        return MULTI_NODE_CHUNKS_PER_WORKER if spans_nodes else SINGLE_NODE_CHUNKS_PER_WORKER

    # -- evaluation ---------------------------------------------------------------------------------------------
    def evaluate(self, genomes: np.ndarray) -> np.ndarray:
        """genomes (n, d) -> errors (n,), identical to ``problem.evaluate(genomes)``."""
        import ray

        if self._closed:
            raise RuntimeError("this RayEvaluator is closed")
        genomes = np.asarray(genomes, dtype=np.float64)
        if genomes.ndim != 2:
            raise ValueError(f"genomes must be a (n, d) array, got shape {genomes.shape}")
        if genomes.shape[0] == 0:
            self.chunk_nodes = []
            return self.problem.evaluate(genomes)
        self._promote_ready()
        bounds = chunk_bounds(genomes.shape[0], max(1, len(self._actors)) * self.chunks_per_actor())
        results: list = [None] * len(bounds)
        nodes: list = [None] * len(bounds)
        queue = deque(range(len(bounds)))
        shared_path = self._shared.write(genomes) if self.shared_memory_workers else None
        slots = deque(actor for _ in range(PIPELINE_DEPTH) for actor in self._actors)
        in_flight: dict = {}
        lost = _lost_errors()
        while queue or in_flight:
            while queue and slots:  # a free slot takes the next chunk: the fastest actors take the most chunks
                actor = slots.popleft()
                if actor not in self._node_of:  # lost while this slot waited
                    continue
                i = queue.popleft()
                start, stop = bounds[i]
                if shared_path is not None and self._sees_shared.get(actor):
                    ref = actor.evaluate_shared.remote(shared_path, start, stop)
                else:
                    ref = actor.evaluate.remote(genomes[start:stop])
                in_flight[ref] = (i, actor)
            if not in_flight:
                self._promote_ready()
                if not self._actors:
                    raise ClusterError("every Ray evaluation actor died and none could be restarted")
                slots.extend(actor for _ in range(PIPELINE_DEPTH) for actor in self._actors)
                continue
            done, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in done:
                i, actor = in_flight.pop(ref)
                try:
                    results[i] = ray.get(ref)
                except lost:
                    if actor in self._node_of:  # its other queued chunk fails too; replace the actor once
                        self._lose(actor)
                    self.resubmitted += 1
                    queue.appendleft(i)
                    continue
                nodes[i] = self._node_of[actor]
                slots.append(actor)
        self.chunk_nodes = nodes
        return np.concatenate(results)

    def close(self) -> None:
        """Stop the actors, and the local Ray if this evaluator started it."""
        if self._closed:
            return
        self._closed = True
        if self._shared is not None:
            self._shared.close()
        import ray

        if not ray.is_initialized():
            return
        for actor in [*self._actors, *self._pending.values()]:
            try:
                ray.kill(actor, no_restart=True)
            except Exception:  # noqa: BLE001  (already gone)
                pass
        self._actors, self._pending = [], {}
        if self._owns_ray:
            ray.shutdown()

    def __enter__(self) -> RayEvaluator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _last_error_line(exc: BaseException) -> str:
    """The innermost ``SomeError: message`` line of a Ray error's text (Ray appends the remote traceback)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for line in reversed(lines):
        if re.match(r"^[\w.]*(Error|Exception)\b", line):
            return line
    return lines[-1] if lines else type(exc).__name__


def _lost_errors() -> tuple[type[BaseException], ...]:
    """Errors meaning "the actor or its node is gone", after which the chunk is re-run elsewhere."""
    from ray import exceptions

    return (exceptions.RayActorError, exceptions.WorkerCrashedError, exceptions.NodeDiedError,
            exceptions.ObjectLostError)
