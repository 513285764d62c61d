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

Connecting: no address (and no ``RAY_ADDRESS``) starts a private local Ray with this machine's cores, listening on
127.0.0.1 only; ``auto``, ``HOST:PORT`` (the GCS port) and ``ray://HOST:PORT`` (the Ray client port) join an existing
cluster. Every attempt is bounded by ``connect_timeout``; errors the user can fix raise
:class:`evolino.errors.ClusterError`. The environment variables the backend sets for Ray (``RAY_AUTH_MODE``,
``RAY_USAGE_STATS_ENABLED``) are removed again when the evaluator closes.
"""

from __future__ import annotations

import logging
import math
import os
import re
import socket
import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from evolino.backends.shared_population import SharedPopulation, SharedRowsReader
from evolino.errors import ClusterError
from evolino.kernels import limit_compiled_threads

__all__ = ["ChunkDeadline", "RayEvaluator", "chunk_bounds", "parse_address", "ray_session"]

SINGLE_NODE_CHUNKS_PER_WORKER = 1  # actors on one node run on identical cores: nothing to balance
MULTI_NODE_CHUNKS_PER_WORKER = 4  # nodes may differ: beyond the PIPELINE_DEPTH queued chunks, the fastest take more
DEFAULT_CONNECT_TIMEOUT = 20.0
CLIENT_DEADLINE_FACTOR = 3  # a ray:// handshake may take this many connect timeouts (see connect)
CLIENT_ATTEMPTS = 3  # ray:// handshakes tried, within that one deadline, when the server failed to start its driver
CLIENT_RETRY_PAUSE = 2.0  # seconds before the second attempt (twice that before the third)
DEFAULT_READY_TIMEOUT = 60.0
INLINE_BYTES = 16 * 1024 * 1024  # largest task argument a local Ray started here sends inline
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
CLUSTER_PROBE_PERIOD = 5.0  # seconds between checks that the GCS accepts connections, while no result comes back
CLUSTER_LOST_AFTER = 15.0  # GCS unreachable this long = cluster lost (Ray's driver exits on its own after 60 s)
PROBE_TIMEOUT = 2.0
AUTH_HINT = ("if the cluster uses token authentication, set RAY_AUTH_TOKEN (or RAY_AUTH_TOKEN_PATH) to its token "
             "and RAY_AUTH_MODE=token")
RESUME_HINT = "once the cluster is back, continue from the run's last checkpoint with `python -m evolino resume DIR`"

_log = logging.getLogger(__name__)


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
    endpoint = _split_endpoint(rest)
    if endpoint is None:
        raise ClusterError(f"bad Ray address {address!r}: expected auto, HOST:PORT or ray://HOST:PORT")
    return address, endpoint


def _split_endpoint(text: str) -> tuple[str, int] | None:
    """``HOST:PORT`` (IPv6 hosts in brackets) -> (host, port), None if it is not one."""
    host, sep, port_text = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        return None
    return host, int(port_text)


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

    what = f"the Ray cluster at {host}:{port}"
    try:
        # No answer is not an authentication problem (a wrong token is refused at once): the GCS is still starting
        # (a head node that was just restarted), or something else listens there.
        _call_with_deadline(ask, timeout + 1.0, what, hint="a head node that is still starting answers within a "
                            "minute (try again then), or this is not a Ray GCS port")
    except ClusterError:
        raise
    except Exception as exc:  # noqa: BLE001  (AuthenticationError, RpcError, GetTimeoutError...)
        raise _as_cluster_error(exc, what) from None


def _auto_endpoint() -> tuple[str, int] | None:
    """The GCS endpoint that ``address="auto"`` would use, to probe it first (None if Ray cannot tell)."""
    try:
        from ray._private.services import canonicalize_bootstrap_address

        found = canonicalize_bootstrap_address("auto")
    except Exception:  # noqa: BLE001  (no running cluster, or a private API that moved: ray.init will say)
        return None
    return _split_endpoint(found) if found else None


def _set_auth_environment(starting_local: bool) -> dict[str, str]:
    """Make the authentication mode explicit before Ray reads it (Ray 2.60 turns token auth on by default).

    A local Ray started here runs without tokens unless the user says otherwise; joining a cluster with a token in
    the environment means token mode. Variables already set are left alone. Returns ``{name: value}`` of the
    variables set here, for :func:`_restore_environment`.
    """
    wanted = {"RAY_USAGE_STATS_ENABLED": "0"}
    if starting_local:
        wanted["RAY_AUTH_MODE"] = "disabled"
    elif os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH"):
        wanted["RAY_AUTH_MODE"] = "token"
    changed = {name: value for name, value in wanted.items() if name not in os.environ}
    os.environ.update(changed)
    return changed


def _restore_environment(changed: dict[str, str]) -> None:
    """Remove the variables :func:`_set_auth_environment` set, unless someone has changed them since."""
    for name, value in changed.items():
        if os.environ.get(name) == value:
            del os.environ[name]


def _call_with_deadline(function, timeout: float, what: str, hint: str = ""):
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
        raise ClusterError(f"no answer from {what} within {timeout:g}s" + (f": {hint}" if hint else ""))
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
    return ClusterError(f"cannot connect to {what}: {type(exc).__name__}: {_shorten(text)}")


def _shorten(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def _cluster_lost(reason: str) -> ClusterError:
    """The one line for a cluster that went away mid-run (never an authentication problem: it worked until now)."""
    return ClusterError(f"lost the Ray cluster ({reason}): its head node or GCS is gone; {RESUME_HINT} "
                        "(DIR: the run folder)")


@contextmanager
def _loopback_node_address():
    """Let ray.init keep a 127.0.0.1 node address.

    Ray 2.60 replaces a loopback ``_node_ip_address`` by this machine's network address unless clusters are off (as
    on macOS), and its servers then listen on every interface; with the node on 127.0.0.1 they listen there only.
    """
    try:
        from ray._private import ray_constants  # not public API: without it Ray picks the address itself
    except ImportError:
        ray_constants = None
    if not hasattr(ray_constants, "ENABLE_RAY_CLUSTER"):
        yield
        return
    saved = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved


def _local_init_kwargs(num_cpus: int | None) -> dict:
    """ray.init options of the private local Ray started when there is no address."""
    # Ray runs workers at nice 15; the actors of a Ray started for this run are the run, so they get its priority.
    # address="local": a new Ray even when a `ray start` cluster on this machine would be found otherwise.
    # Chunks up to INLINE_BYTES travel inside the task message instead of through the object store (a put and a
    # fetch per chunk): about 2 ms less per generation on 2 cores. A cluster keeps its own limit (100 KB default).
    # _node_ip_address: every process of this Ray listens on 127.0.0.1 only (see _loopback_node_address).
    return {"address": "local", "num_cpus": num_cpus or os.cpu_count() or 1, "include_dashboard": False,
            "_node_ip_address": "127.0.0.1",
            "_system_config": {"worker_niceness": 0, "max_direct_call_object_size": INLINE_BYTES}}


def _current_gcs_endpoint() -> tuple[str, int] | None:
    """The GCS this driver is connected to (None in Ray client mode, or if Ray cannot tell)."""
    import ray

    try:
        return _split_endpoint(str(ray.get_runtime_context().gcs_address))
    except Exception:  # noqa: BLE001  (client mode has no GCS client here)
        return None


@dataclass
class _Connection:
    owns_ray: bool  # this process started Ray (and so shuts it down)
    endpoint: tuple[str, int] | None  # the GCS, or the Ray client server, whose loss means the cluster is lost
    environment: dict[str, str] = field(default_factory=dict)  # variables set for Ray, removed at close


def connect(address: str | None, timeout: float, num_cpus: int | None = None) -> bool:
    """Start or join Ray. Returns True if this call initialised Ray (and so should shut it down).

    ``num_cpus`` sets the CPUs of a local Ray started here (default: this machine's cores).
    """
    return _connect(address, timeout, num_cpus).owns_ray


@contextmanager
def ray_session(address: str | None, timeout: float = DEFAULT_CONNECT_TIMEOUT, num_cpus: int | None = None):
    """Start or join Ray (as :func:`connect`) for the body of a ``with``; a Ray started here is shut down at its end
    and the environment variables set for it are removed again."""
    import ray

    connection = _connect(address, timeout, num_cpus)
    try:
        yield connection
    finally:
        try:
            if connection.owns_ray and ray.is_initialized():
                ray.shutdown()
        finally:
            _restore_environment(connection.environment)


def _connect(address: str | None, timeout: float, num_cpus: int | None) -> _Connection:
    """:func:`connect`, also telling what to watch and which environment variables it set."""
    import ray

    if ray.is_initialized():  # a caller (a test session, a notebook) already chose the cluster
        return _Connection(False, _current_gcs_endpoint())
    if address is None:
        address = os.environ.get("RAY_ADDRESS") or None
    init_address, endpoint = parse_address(address)
    if num_cpus is not None and init_address is not None:
        raise ClusterError("num_cpus sets the size of a local Ray; a cluster's nodes declare their own CPUs")
    environment = _set_auth_environment(starting_local=init_address is None)
    try:
        endpoint = _init(init_address, endpoint, address, timeout, num_cpus)
    except BaseException:
        _restore_environment(environment)
        raise
    return _Connection(True, endpoint, environment)


def _init(init_address: str | None, endpoint, address: str | None, timeout: float, num_cpus: int | None):
    """Call ray.init within the deadlines; returns the endpoint to watch for the rest of the run."""
    import ray

    client = init_address is not None and init_address.startswith("ray://")
    if init_address is None:
        what, kwargs = "the local Ray it started", _local_init_kwargs(num_cpus)
    else:
        what, kwargs = f"the Ray cluster at {address}", {"address": init_address}
        if init_address == "auto":
            endpoint = _auto_endpoint()
            if endpoint is None:
                raise ClusterError("address 'auto' found no running Ray cluster on this machine (start one with "
                                   "`ray start --head`, or give --address HOST:PORT)")
        _probe(*endpoint, timeout=min(5.0, timeout))
        if not client:
            _check_gcs(*endpoint, timeout=min(5.0, timeout))
    kwargs.update(logging_level=logging.WARNING, log_to_driver=True, configure_logging=True)
    started = time.monotonic()
    try:
        if init_address is None:  # starting processes needs the main thread (signal handlers) and cannot hang
            with _loopback_node_address():
                ray.init(**kwargs)
        else:
            # The client server starts a driver process for each ray:// connection: seconds more than a GCS join,
            # and past 20 s on a busy 2-core machine (seen in tests). The port answered the probe, so waiting
            # longer only delays an error for a server that is up but stuck.
            deadline = timeout * CLIENT_DEADLINE_FACTOR if client else timeout
            if client:
                _client_init(lambda: ray.init(**kwargs), deadline, what)
            else:
                _call_with_deadline(lambda: ray.init(**kwargs), deadline, what)
    except ClusterError:
        raise
    except Exception as exc:  # noqa: BLE001  (Ray raises ConnectionError, RuntimeError, AuthenticationError...)
        raise _as_cluster_error(exc, what) from None
    _log.debug("connected to Ray in %.1fs", time.monotonic() - started)
    return endpoint if client else _current_gcs_endpoint()


def _client_start_failed(exc: BaseException) -> bool:
    """Whether a ray:// handshake failed because the client server could not start the connection's driver in time
    (Ray's "Initialization failure from server", seen on a loaded machine), which a new handshake may get past."""
    return isinstance(exc, ConnectionError) and "Initialization failure from server" in str(exc)


def _client_init(init, deadline: float, what: str) -> None:
    """``init()`` (a ray:// ``ray.init``) up to :data:`CLIENT_ATTEMPTS` times while it fails with
    :func:`_client_start_failed`, all within one ``deadline`` (seconds): the bound of a single attempt before. Ray's
    client disconnects itself after a failed handshake, so the next attempt starts clean."""
    end = time.monotonic() + deadline
    for attempt in range(1, CLIENT_ATTEMPTS + 1):
        remaining = max(end - time.monotonic(), 0.0)
        try:
            _call_with_deadline(init, remaining, what, hint=AUTH_HINT)
            return
        except ClusterError:
            raise
        except Exception as exc:  # noqa: BLE001  (Ray's ConnectionError, or another that is not retried)
            pause = CLIENT_RETRY_PAUSE * attempt
            if attempt == CLIENT_ATTEMPTS or not _client_start_failed(exc) or end - time.monotonic() < 2 * pause:
                raise
            _log.info("the Ray client server failed to start a driver (attempt %d of %d): trying again in %gs",
                      attempt, CLIENT_ATTEMPTS, pause)
        time.sleep(pause)


class _ClusterWatch:
    """Tells a lost cluster from a slow one: its GCS (or Ray client server) must go on accepting connections.

    Parameters
    ----------
    endpoint : (host, port) or None
        What to probe; None watches nothing (Ray's own errors still end the run).
    lost_after : float
        Seconds of refused or unanswered connections after which the cluster counts as lost.
    period : float
        Seconds between probes while the cluster answers.
    """

    def __init__(self, endpoint: tuple[str, int] | None, lost_after: float = CLUSTER_LOST_AFTER,
                 period: float = CLUSTER_PROBE_PERIOD) -> None:
        self.endpoint = endpoint
        self.lost_after = lost_after
        self.period = period
        self._last_probe = -math.inf
        self._failing_since: float | None = None
        self.lost = False  # once true, Ray calls that need the GCS (ray.kill) would block: close() skips them

    def declare_lost(self, reason: str) -> ClusterError:
        """Remember that the cluster is gone; returns the one-line error to raise."""
        self.lost = True
        return _cluster_lost(reason)

    def check(self) -> None:
        """Probe if it is time to; ClusterError once the endpoint has failed for ``lost_after`` seconds."""
        now = time.monotonic()
        if self.endpoint is None or (self._failing_since is None and now - self._last_probe < self.period):
            return
        self._last_probe = now
        try:
            with socket.create_connection(self.endpoint, timeout=PROBE_TIMEOUT):
                pass
        except OSError as exc:
            if self._failing_since is None:
                self._failing_since = now
            if now - self._failing_since >= self.lost_after:
                host, port = self.endpoint
                reason = exc.strerror or type(exc).__name__
                raise self.declare_lost(f"{host}:{port} has not accepted a connection for "
                                        f"{now - self._failing_since:.0f}s ({reason})") from None
            return
        self._failing_since = None


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
        self._watch = _ClusterWatch(None)
        connection = _connect(address, float(connect_timeout), num_cpus)
        self._owns_ray, self._environment = connection.owns_ray, connection.environment
        self._watch = _ClusterWatch(connection.endpoint)
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
            raise self._watch.declare_lost(f"{type(exc).__name__}: {_shorten(_last_error_line(exc))}") from None
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
                raise self._watch.declare_lost(f"{type(exc).__name__}: {_shorten(_last_error_line(exc))}") from None
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
            raise self._watch.declare_lost(f"{type(exc).__name__}: {_shorten(_last_error_line(exc))}") from None
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
            _restore_environment(self._environment)

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
