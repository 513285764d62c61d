"""The Ray backend: long-lived actors on local cores or on a Ray cluster, each holding the problem once.

Every generation the population is cut into contiguous chunks (``chunks_per_worker`` per actor: one on a single node,
more for load balance when the actors span nodes), each chunk is scored with ``problem.evaluate`` inside an actor, and
the errors are put back in population order.
A genome's error never depends on its batch, so the result is bit-identical to the serial backend whatever the
chunking, the worker count or the nodes.

Fault tolerance: evaluation is idempotent, so a chunk whose actor (or node) dies is handed to a live actor, and a
replacement actor is started that joins the pool once it is up. An actor that holds a chunk past its deadline
(:class:`ChunkDeadline`: ``chunk_timeout``, or ten times the usual time with a floor of two minutes) counts as hung:
it is killed and replaced the same way. When no actor is left, evaluation waits up to ``ready_timeout`` for a
replacement. Every wait is bounded, and while nothing comes back the driver checks that the cluster's GCS still
accepts connections: a lost head node ends the run with one :class:`evolino.errors.ClusterError` line, well before
Ray's own driver would exit (60 s after losing the GCS).

Connecting (a private local Ray, or a cluster by address, every attempt bounded) and the watch on the cluster's head
are :mod:`evolino.backends.ray_cluster`'s; the environment variables set for Ray are removed again when the
evaluator closes.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections import deque

import numpy as np

from evolino.backends.ray_cluster import (
    DEFAULT_CONNECT_TIMEOUT,
    ClusterWatch,
    open_connection,
    parse_address,
    ray_session,
    restore_environment,
    shorten,
)
from evolino.backends.shared_population import SharedPopulation, SharedRowsReader
from evolino.errors import ClusterError
from evolino.kernels import limit_compiled_threads

__all__ = ["ChunkDeadline", "RayEvaluator", "chunk_bounds", "parse_address", "ray_session"]

SINGLE_NODE_CHUNKS_PER_WORKER = 1  # actors on one node run on identical cores: nothing to balance
MULTI_NODE_CHUNKS_PER_WORKER = 4  # nodes may differ: beyond the PIPELINE_DEPTH queued chunks, the fastest take more
DEFAULT_READY_TIMEOUT = 60.0
PIPELINE_DEPTH = 2  # chunks queued per actor, so an actor never idles while the driver hands out the next one
STRAGGLER_GRACE = 10.0  # seconds the other actors get once the first is up (a busy cluster may have no CPU now)
# A chunk's deadline (ChunkDeadline). The floor covers an actor's first call (loading the compiled kernels) on a
# busy node; the factor covers nodes several times slower than the median one.
CHUNK_TIMEOUT_FLOOR = 120.0
CHUNK_TIMEOUT_FACTOR = 10.0
CHUNK_TIMING_WINDOW = 64  # recent chunks whose median time per genome sets the automatic deadline
CHUNK_ATTEMPTS = 3  # a chunk that outlives its deadline on this many actors in turn ends the run: the chunk is at fault
POLL_SECONDS = 2.0  # longest single ray.wait: between waits the driver checks deadlines, replacements, the cluster
FETCH_TIMEOUT = 30.0  # ray.get of an object ray.wait reported ready

_log = logging.getLogger(__name__)


def chunk_bounds(n: int, chunks: int) -> list[tuple[int, int]]:
    """Split ``range(n)`` into at most ``chunks`` contiguous, non-empty, nearly equal ``(start, stop)`` pieces."""
    chunks = max(1, min(int(chunks), int(n)))
    edges = np.linspace(0, n, chunks + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def _system_errors() -> tuple[type[BaseException], ...]:
    """Errors of Ray itself, rather than of an actor: the connection to the cluster is gone."""
    from ray import exceptions

    return (exceptions.RaySystemError, ConnectionError)


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


class ChunkDeadline:
    """How long an actor may hold one chunk before it counts as hung (and is killed and replaced).

    Parameters
    ----------
    fixed : float, optional
        Seconds allowed for every chunk. Default (None): automatic, ``CHUNK_TIMEOUT_FACTOR`` (10) times the median
        time per genome of the last ``CHUNK_TIMING_WINDOW`` (64) chunks times the genomes of the chunk, and never less
        than ``CHUNK_TIMEOUT_FLOOR`` (120 s, also the deadline before any chunk has come back).

    A chunk that already missed its deadline ``attempt`` times gets ``2 ** attempt`` times as long on the next actor.
    """

    def __init__(self, fixed: float | None = None) -> None:
        self.fixed = fixed
        self._per_genome: deque = deque(maxlen=CHUNK_TIMING_WINDOW)
        self._median: float | None = None  # of _per_genome, recomputed only after a new chunk

    def record(self, seconds: float, genomes: int) -> None:
        """A chunk of ``genomes`` rows came back ``seconds`` after its actor started on it."""
        self._per_genome.append(seconds / max(1, genomes))
        self._median = None

    def seconds(self, genomes: int, attempt: int = 0) -> float:
        """Seconds a chunk of ``genomes`` rows may take on its ``attempt``-th retry (0: the first run)."""
        if self.fixed is not None:
            base = self.fixed
        elif self._per_genome:
            if self._median is None:
                self._median = float(np.median(self._per_genome))
            base = max(CHUNK_TIMEOUT_FLOOR, CHUNK_TIMEOUT_FACTOR * self._median * genomes)
        else:
            base = CHUNK_TIMEOUT_FLOOR
        return base * 2.0 ** attempt


class _Generation:
    """The chunks of one generation: queued, in flight (on which actor, running since when) and done."""

    def __init__(self, bounds: list[tuple[int, int]]) -> None:
        self.bounds = bounds
        self.results: list = [None] * len(bounds)
        self.nodes: list = [None] * len(bounds)
        self.queue = deque(range(len(bounds)))
        self.in_flight: dict = {}  # ref -> (chunk, actor), in submission order (an actor runs its chunks in order)
        self.running_since: dict = {}  # actor -> when it started on its oldest chunk in flight
        self.missed = [0] * len(bounds)  # deadlines each chunk has missed

    @property
    def finished(self) -> bool:
        return not self.queue and not self.in_flight

    def rows(self, chunk: int) -> int:
        start, stop = self.bounds[chunk]
        return stop - start

    def submitted(self, ref, chunk: int, actor, now: float) -> None:
        if actor not in self.running_since:  # idle until now: it starts on this chunk at once
            self.running_since[actor] = now
        self.in_flight[ref] = (chunk, actor)

    def oldest(self, actor) -> int:
        """The chunk ``actor`` is working on (its oldest in flight)."""
        return next(chunk for chunk, holder in self.in_flight.values() if holder == actor)

    def finish(self, ref, now: float) -> float:
        """Take ``ref`` off the flight list; returns the seconds its actor spent on it."""
        _, actor = self.in_flight.pop(ref)
        seconds = now - self.running_since.pop(actor)
        if any(holder == actor for _, holder in self.in_flight.values()):
            self.running_since[actor] = now  # its next chunk starts now
        return seconds

    def take_back(self, actor) -> int:
        """Queue every chunk of ``actor`` (lost or hung) again, first in line; returns how many."""
        refs = [ref for ref, (_, holder) in self.in_flight.items() if holder == actor]
        for ref in reversed(refs):
            self.queue.appendleft(self.in_flight.pop(ref)[0])
        self.running_since.pop(actor, None)
        return len(refs)


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
        are up (a busy cluster may have no free CPU for them yet). Also the time allowed for a replacement when
        every actor has been lost (one worker whose actor died).
    num_cpus : int, optional
        CPUs of the local Ray started when there is no address (default: this machine's cores).
    shared_memory : bool
        Hand the actors on the driver's host their rows through a shared-memory file instead of inside each task
        (:mod:`evolino.backends.shared_population`); actors on other hosts always get their chunk with the task.
    chunk_timeout : float, optional
        Seconds an actor may work on one chunk before it counts as hung: it is killed and replaced, and its chunks
        run on other actors. Default (None): ten times the usual time, at least 120 s (:class:`ChunkDeadline`).

    Attributes
    ----------
    resubmitted : int
        Chunks run again because their actor died or hung, over the evaluator's life.
    hung : int
        Actors killed because a chunk outlived its deadline.
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
        chunk_timeout: float | None = None,
    ) -> None:
        for key, value in (("workers", workers), ("chunks_per_worker", chunks_per_worker), ("num_cpus", num_cpus)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                                      or value < 1):
                raise ValueError(f"{key} must be a positive integer, got {value!r}")
        for key, value in (("connect_timeout", connect_timeout), ("ready_timeout", ready_timeout),
                           ("chunk_timeout", 1.0 if chunk_timeout is None else chunk_timeout)):
            if isinstance(value, bool) or not (isinstance(value, (int, float)) and np.isfinite(value) and value > 0):
                raise ValueError(f"{key} must be a positive number of seconds, got {value!r}")
        self.problem = problem
        self.chunks_per_worker = None if chunks_per_worker is None else int(chunks_per_worker)
        self.ready_timeout = float(ready_timeout)
        self.deadline = ChunkDeadline(None if chunk_timeout is None else float(chunk_timeout))
        self.chunk_nodes: list[str] = []  # node id of the actor that scored each chunk of the last generation
        self.resubmitted = 0
        self.hung = 0
        self._actors: list = []
        self._node_of: dict = {}
        self._pending: dict = {}  # locate ref -> actor not yet known to be up
        self._sees_shared: dict = {}  # actor -> reads its rows from the shared population file
        self._shared = None
        self._closed = False
        self._environment: dict[str, str] = {}
        self._watch = ClusterWatch(None)
        connection = open_connection(address, float(connect_timeout), num_cpus)
        self._owns_ray, self._environment = connection.owns_ray, connection.environment
        self._watch = ClusterWatch(connection.endpoint)
        try:
            self._shared = SharedPopulation() if shared_memory else None
            self._start_actors(workers)
        except BaseException:
            self.close()
            raise

    # -- actors -------------------------------------------------------------------------------------------------
    def _start_actors(self, workers: int | None) -> None:
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
        self._wait_for_actors(1, started + self.ready_timeout)
        if self._actors and self._pending:  # the others get a grace period, then join whenever they are up
            grace = min(STRAGGLER_GRACE, max(0.0, self.ready_timeout - (time.monotonic() - started)))
            self._wait_for_actors(self.target_workers, time.monotonic() + grace)
        if not self._actors:
            raise ClusterError(f"no Ray evaluation actor started within {self.ready_timeout:g}s "
                               "(does the cluster have free CPUs?)")

    def _add_actor(self) -> None:
        actor = self._actor_class.options(scheduling_strategy="SPREAD").remote(self._problem_ref)
        self._pending[actor.locate.remote(self._shared.path if self._shared else None)] = actor

    def _wait(self, refs: list, num_returns: int, timeout: float) -> list:
        """``ray.wait`` bounded by ``timeout``; a lost connection to the cluster is a ClusterError."""
        import ray

        try:
            ready, _ = ray.wait(refs, num_returns=num_returns, timeout=max(0.0, timeout))
        except _system_errors() as exc:
            raise self._watch.declare_lost(f"{type(exc).__name__}: {shorten(_last_error_line(exc))}") from None
        return ready

    def _wait_for_actors(self, count: int, deadline: float) -> None:
        """Promote starting actors until ``count`` are up or ``deadline`` (monotonic) passes."""
        while len(self._actors) < count and self._pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._promote(self._wait(list(self._pending), 1, min(POLL_SECONDS, remaining)))
            self._watch.check()

    def _promote(self, ready_refs) -> list:
        """Move the actors whose ``locate`` answered into the pool; returns those that joined."""
        import ray

        joined = []
        for ref in ready_refs:
            actor = self._pending.pop(ref)
            try:
                self._node_of[actor], self._sees_shared[actor] = ray.get(ref, timeout=FETCH_TIMEOUT)
            except _lost_errors() as exc:
                if getattr(exc, "actor_init_failed", False):  # would fail the same way on every node
                    raise ClusterError(f"an evaluation actor could not start: {_last_error_line(exc)} (the problem "
                                       "must unpickle on every node: install the modules it needs there)") from None
                self._kill(actor)
                self._add_actor()  # died while starting (node lost): try again elsewhere
                continue
            except _system_errors() as exc:
                raise self._watch.declare_lost(f"{type(exc).__name__}: {shorten(_last_error_line(exc))}") from None
            self._actors.append(actor)
            joined.append(actor)
        return joined

    def _promote_ready(self) -> list:
        """Actors that came up since the last look (no waiting); returns those that joined."""
        if not self._pending:
            return []
        return self._promote(self._wait(list(self._pending), len(self._pending), 0))

    def _await_replacement(self) -> None:
        """Every actor is lost: wait up to ``ready_timeout`` for a replacement (one worker whose actor died)."""
        self._wait_for_actors(1, time.monotonic() + self.ready_timeout)
        if not self._actors:
            raise ClusterError(f"every Ray evaluation actor was lost and no replacement started within "
                               f"{self.ready_timeout:g}s (ready_timeout): the cluster has no free CPU for one")

    @staticmethod
    def _kill(actor) -> None:
        import ray

        try:
            ray.kill(actor, no_restart=True)
        except Exception:  # noqa: BLE001  (already gone)
            pass

    def _lose(self, actor) -> None:
        """Drop ``actor`` from the pool (dead or hung: kill it to be sure) and start a replacement."""
        self._actors.remove(actor)
        self._node_of.pop(actor, None)
        self._sees_shared.pop(actor, None)
        self._kill(actor)
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
        if self._closed:
            raise RuntimeError("this RayEvaluator is closed")
        genomes = np.asarray(genomes, dtype=np.float64)
        if genomes.ndim != 2:
            raise ValueError(f"genomes must be a (n, d) array, got shape {genomes.shape}")
        if genomes.shape[0] == 0:
            self.chunk_nodes = []
            return self.problem.evaluate(genomes)
        self._promote_ready()
        if not self._actors:
            self._await_replacement()
        generation = _Generation(chunk_bounds(genomes.shape[0], len(self._actors) * self.chunks_per_actor()))
        shared_path = self._shared.write(genomes) if self.shared_memory_workers else None
        slots = deque(actor for _ in range(PIPELINE_DEPTH) for actor in self._actors)
        while not generation.finished:
            self._submit(generation, slots, genomes, shared_path)
            if not generation.in_flight:  # every actor with a free slot was lost
                self._promote_ready()
                if not self._actors:
                    self._await_replacement()
                slots = deque(actor for _ in range(PIPELINE_DEPTH) for actor in self._actors)
                continue
            self._watch.check()  # also while results come in: actors outlive a lost GCS, Ray's driver does not
            wait = self._expire(generation)
            if not generation.in_flight:
                continue
            for ref in self._wait(list(generation.in_flight), 1, wait):
                self._collect(generation, ref, slots)
            if self._pending:  # replacements join this generation as soon as they are up
                slots.extend(actor for actor in self._promote_ready() for _ in range(PIPELINE_DEPTH))
        self.chunk_nodes = generation.nodes
        return np.concatenate(generation.results)

    def _submit(self, generation: _Generation, slots: deque, genomes: np.ndarray, shared_path: str | None) -> None:
        """A free slot takes the next chunk: the fastest actors take the most chunks."""
        while generation.queue and slots:
            actor = slots.popleft()
            if actor not in self._node_of:  # lost while this slot waited
                continue
            chunk = generation.queue.popleft()
            start, stop = generation.bounds[chunk]
            if shared_path is not None and self._sees_shared.get(actor):
                ref = actor.evaluate_shared.remote(shared_path, start, stop)
            else:
                ref = actor.evaluate.remote(genomes[start:stop])
            generation.submitted(ref, chunk, actor, time.monotonic())

    def _collect(self, generation: _Generation, ref, slots: deque) -> None:
        """Store the errors of a finished chunk, or queue it again if its actor died."""
        import ray

        if ref not in generation.in_flight:  # its actor was dropped in the meantime
            return
        chunk, actor = generation.in_flight[ref]
        try:
            errors = ray.get(ref, timeout=FETCH_TIMEOUT)
        except _lost_errors():
            self._drop(generation, actor)
            return
        except _system_errors() as exc:
            raise self._watch.declare_lost(f"{type(exc).__name__}: {shorten(_last_error_line(exc))}") from None
        self.deadline.record(generation.finish(ref, time.monotonic()), generation.rows(chunk))
        generation.results[chunk] = errors
        generation.nodes[chunk] = self._node_of[actor]
        slots.append(actor)

    def _drop(self, generation: _Generation, actor) -> None:
        """``actor`` died or hangs: its chunks go to the others, and a replacement is started."""
        self.resubmitted += generation.take_back(actor)
        if actor in self._node_of:
            self._lose(actor)

    def _expire(self, generation: _Generation) -> float:
        """Drop the actors that hold a chunk past its deadline; returns the seconds until the next deadline."""
        now = time.monotonic()
        wait = POLL_SECONDS
        for actor, since in list(generation.running_since.items()):
            chunk = generation.oldest(actor)
            allowed = self.deadline.seconds(generation.rows(chunk), generation.missed[chunk])
            if now - since < allowed:
                wait = min(wait, since + allowed - now)
                continue
            generation.missed[chunk] += 1
            start, stop = generation.bounds[chunk]
            if generation.missed[chunk] >= CHUNK_ATTEMPTS:
                raise ClusterError(f"genomes {start}:{stop} got no answer within the deadline on {CHUNK_ATTEMPTS} "
                                   f"actors in turn (last {allowed:g}s): evaluating them hangs, or takes longer than "
                                   "the deadline (raise chunk_timeout)")
            _log.warning("an evaluation actor gave no answer for genomes %d:%d within %.0fs: killed and replaced, "
                         "its chunks run elsewhere", start, stop, allowed)
            self.hung += 1
            self._drop(generation, actor)
        return wait

    def close(self) -> None:
        """Stop the actors, and the local Ray if this evaluator started it; restore the environment."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._shared is not None:
                self._shared.close()
            import ray

            if not ray.is_initialized():
                return
            if not self._watch.lost:  # ray.kill waits for the GCS: on a lost cluster the actors die with their nodes
                for actor in [*self._actors, *self._pending.values()]:
                    self._kill(actor)
            self._actors, self._pending = [], {}
            if self._owns_ray:
                ray.shutdown()
        finally:
            restore_environment(self._environment)

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
    """Errors meaning "the actor or its node is gone" (or its answer cannot be fetched), after which the chunk is
    re-run elsewhere."""
    from ray import exceptions

    return (exceptions.RayActorError, exceptions.WorkerCrashedError, exceptions.NodeDiedError,
            exceptions.ObjectLostError, exceptions.GetTimeoutError)
