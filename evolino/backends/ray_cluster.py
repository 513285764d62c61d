"""Joining or starting Ray for the Ray backend and sweeps: addresses, authentication, bounded connects, and the
watch on a cluster's head while a generation runs.

Connecting: no address (and no ``RAY_ADDRESS``) starts a private local Ray with this machine's cores, listening on
127.0.0.1 only; ``auto``, ``HOST:PORT`` (the GCS port) and ``ray://HOST:PORT`` (the Ray client port) join an existing
cluster. Every attempt is bounded by ``timeout``: nothing listening fails at once (a socket probe), a wrong or
missing token fails at the GCS's first answer, and a ``ray://`` handshake that the client server could not start in
time (seen under load) is tried again within the same deadline. Errors the user can fix raise
:class:`evolino.errors.ClusterError` in one line. The environment variables set for Ray (``RAY_AUTH_MODE``,
``RAY_USAGE_STATS_ENABLED``) are removed again when the session ends (:func:`ray_session`).

While results are awaited, :class:`ClusterWatch` probes the GCS every ``CLUSTER_PROBE_PERIOD`` seconds: a head lost
for ``CLUSTER_LOST_AFTER`` seconds ends the run with one line, well before Ray's own driver would exit.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from evolino.errors import ClusterError

__all__ = ["ClusterWatch", "DEFAULT_CONNECT_TIMEOUT", "connect", "open_connection", "parse_address", "ray_session",
           "restore_environment", "set_auth_environment", "shorten"]

DEFAULT_CONNECT_TIMEOUT = 20.0
CLIENT_DEADLINE_FACTOR = 3  # a ray:// handshake may take this many connect timeouts (see connect)
CLIENT_ATTEMPTS = 3  # ray:// handshakes tried, within that one deadline, when the server failed to start its driver
CLIENT_RETRY_PAUSE = 2.0  # seconds before the second attempt (twice that before the third)
INLINE_BYTES = 16 * 1024 * 1024  # largest task argument a local Ray started here sends inline
CLUSTER_PROBE_PERIOD = 5.0  # seconds between checks that the GCS accepts connections, while no result comes back
CLUSTER_LOST_AFTER = 15.0  # GCS unreachable this long = cluster lost (Ray's driver exits on its own after 60 s)
PROBE_TIMEOUT = 2.0
AUTH_HINT = ("if the cluster uses token authentication, set RAY_AUTH_TOKEN (or RAY_AUTH_TOKEN_PATH) to its token "
             "and RAY_AUTH_MODE=token")
RESUME_HINT = "once the cluster is back, continue from the run's last checkpoint with `python -m evolino resume DIR`"

_log = logging.getLogger(__name__)


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


def set_auth_environment(starting_local: bool) -> dict[str, str]:
    """Make the authentication mode explicit before Ray reads it (Ray 2.60 turns token auth on by default).

    A local Ray started here runs without tokens unless the user says otherwise; joining a cluster with a token in
    the environment means token mode. Variables already set are left alone. Returns ``{name: value}`` of the
    variables set here, for :func:`restore_environment`.
    """
    wanted = {"RAY_USAGE_STATS_ENABLED": "0"}
    if starting_local:
        wanted["RAY_AUTH_MODE"] = "disabled"
    elif os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH"):
        wanted["RAY_AUTH_MODE"] = "token"
    changed = {name: value for name, value in wanted.items() if name not in os.environ}
    os.environ.update(changed)
    return changed


def restore_environment(changed: dict[str, str]) -> None:
    """Remove the variables :func:`set_auth_environment` set, unless someone has changed them since."""
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
    return ClusterError(f"cannot connect to {what}: {type(exc).__name__}: {shorten(text)}")


def shorten(text: str, limit: int = 200) -> str:
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
    return open_connection(address, timeout, num_cpus).owns_ray


@contextmanager
def ray_session(address: str | None, timeout: float = DEFAULT_CONNECT_TIMEOUT, num_cpus: int | None = None):
    """Start or join Ray (as :func:`connect`) for the body of a ``with``; a Ray started here is shut down at its end
    and the environment variables set for it are removed again."""
    import ray

    connection = open_connection(address, timeout, num_cpus)
    try:
        yield connection
    finally:
        try:
            if connection.owns_ray and ray.is_initialized():
                ray.shutdown()
        finally:
            restore_environment(connection.environment)


def open_connection(address: str | None, timeout: float, num_cpus: int | None) -> _Connection:
    """:func:`connect`, also telling what to watch and which environment variables it set."""
    import ray

    if ray.is_initialized():  # a caller (a test session, a notebook) already chose the cluster
        return _Connection(False, _current_gcs_endpoint())
    if address is None:
        address = os.environ.get("RAY_ADDRESS") or None
    init_address, endpoint = parse_address(address)
    if num_cpus is not None and init_address is not None:
        raise ClusterError("num_cpus sets the size of a local Ray; a cluster's nodes declare their own CPUs")
    environment = set_auth_environment(starting_local=init_address is None)
    try:
        endpoint = _init(init_address, endpoint, address, timeout, num_cpus)
    except BaseException:
        restore_environment(environment)
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


class ClusterWatch:
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
