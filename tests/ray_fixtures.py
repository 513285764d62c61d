"""Helpers of the Ray tests: a tiny problem, slow and hanging wrappers, the sockets a process tree listens on, and a
loopback copy of the docker-compose cluster."""

from __future__ import annotations

import ipaddress
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from evolino import EvolinoProblem, LSTMSpec
from evolino.tasks.oscillators import oscillator_task

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"


def small_problem(cells: int = 3) -> EvolinoProblem:
    """A generative two-sine task of 100 steps: quick to score, big enough to tell genomes apart."""
    task = oscillator_task("tiny", (0.2, 0.311), train_end=60, validation_end=90, test_end=100, washout=10)
    return EvolinoProblem(LSTMSpec(cells=cells), task)


def population(problem: EvolinoProblem, n: int, seed: int) -> np.ndarray:
    """(n, d) random genomes; genome 1 holds a NaN, so its error is +inf whatever chunk it lands in."""
    genomes = np.random.default_rng(seed).normal(0.0, 0.5, (n, problem.dimension))
    genomes[1, 0] = np.nan
    return genomes


@dataclass(frozen=True)
class SlowProblem:
    """The same errors as ``problem``, but every chunk takes ``seconds`` longer: keeps chunks in flight."""

    problem: EvolinoProblem
    seconds: float

    def evaluate(self, genomes: np.ndarray) -> np.ndarray:
        time.sleep(self.seconds)
        return self.problem.evaluate(genomes)


@dataclass(frozen=True)
class HangOnce:
    """The same errors as ``problem``; once armed, the first chunk any actor takes hangs for ``seconds`` (one actor
    only: the files in ``folder``, shared by the actors of one machine, say whether it is armed and already taken).
    """

    problem: EvolinoProblem
    folder: str
    seconds: float = 600.0

    def arm(self) -> None:
        Path(self.folder, "armed").touch()

    @property
    def hung(self) -> bool:
        return Path(self.folder, "taken").exists()

    def evaluate(self, genomes: np.ndarray) -> np.ndarray:
        if Path(self.folder, "armed").exists():
            try:
                os.close(os.open(Path(self.folder, "taken"), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:  # another actor took the hang
                pass
            else:
                time.sleep(self.seconds)
        return self.problem.evaluate(genomes)


def ship_by_value() -> None:
    """Ray workers cannot import this tests/ module: pickle its classes by value instead."""
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_port_range(size: int, rng: np.random.Generator) -> int:
    """First port of ``size`` consecutive ports that are free now."""
    for _ in range(50):
        first = int(rng.integers(20000, 30000))
        try:
            for port in range(first, first + size):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return first
    raise RuntimeError("no free port range found")


# -- the compose file ---------------------------------------------------------------------------------------------
_VARIABLE = re.compile(r"\$\{(\w+)(?::([-?])([^}]*))?\}")


def interpolate(text: str, env: dict) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}`` substitution."""

    def substitute(match: re.Match) -> str:
        name, kind, word = match.groups()
        value = env.get(name)
        if value:
            return value
        if kind == "-":
            return word
        if kind == "?":
            raise ValueError(f"{name}: {word}")
        return ""

    return _VARIABLE.sub(substitute, text)


def load_compose(env: dict) -> dict:
    """docker-compose.yml with variables substituted from ``env`` (as ``docker-compose config`` does)."""
    return yaml.safe_load(interpolate(COMPOSE_FILE.read_text(), env))


def _replace_flag(command: list[str], flag: str, value) -> list[str]:
    """Set ``--flag=value``, replacing the compose value if there is one."""
    kept = [part for part in command if part != flag and not part.startswith(flag + "=")]
    return [*kept, f"{flag}={value}"]


def loopback_commands(compose: dict, temp_dir: str, rng: np.random.Generator) -> dict:
    """The compose services' ``ray start`` commands, moved onto 127.0.0.1 with free ports and a private temp dir.

    Returns {"head": argv, "worker": argv, "gcs_port": int, "dashboard_port": int, "client_port": int,
    "agent_ports": [head, worker]}.
    """
    head = list(compose["services"]["head"]["command"])
    worker = list(compose["services"]["worker"]["command"])
    gcs, dashboard, client = free_port(), free_port(), free_port()
    head = _replace_flag(head, "--port", gcs)
    head = _replace_flag(head, "--dashboard-port", dashboard)
    head = _replace_flag(head, "--dashboard-host", "127.0.0.1")
    head = _replace_flag(head, "--ray-client-server-port", client)
    worker = _replace_flag(worker, "--address", f"127.0.0.1:{gcs}")
    agent_ports = []
    for name, command in (("head", head), ("worker", worker)):
        first = free_port_range(40, rng)
        agent = free_port()
        agent_ports.append(agent)
        for flag, value in (("--node-ip-address", "127.0.0.1"), ("--temp-dir", temp_dir),
                            ("--node-manager-port", free_port()), ("--object-manager-port", free_port()),
                            ("--dashboard-agent-listen-port", agent), ("--dashboard-agent-grpc-port", free_port()),
                            ("--metrics-export-port", free_port()), ("--runtime-env-agent-port", free_port()),
                            ("--min-worker-port", first), ("--max-worker-port", first + 39),
                            ("--disable-usage-stats", None)):
            command = [p for p in command if p != flag and not p.startswith(flag + "=")]
            command.append(flag if value is None else f"{flag}={value}")
        if name == "head":
            head = command
        else:
            worker = command
    return {"head": head, "worker": worker, "gcs_port": gcs, "dashboard_port": dashboard, "client_port": client,
            "agent_ports": agent_ports}


# -- processes ----------------------------------------------------------------------------------------------------
def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (read from /proc), deepest last."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _listening_inodes() -> dict[int, ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Socket inode -> local address of every listening TCP socket (/proc/net/tcp and tcp6)."""
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as handle:
            next(handle)
            for line in handle:
                fields = line.split()
                if fields[3] != "0A":  # TCP_LISTEN
                    continue
                raw = bytes.fromhex(fields[1].split(":")[0])
                # The kernel prints the address as 32-bit words in host (little-endian) order.
                packed = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                found[int(fields[9])] = ipaddress.ip_address(packed)
    return found


def listening_addresses(pids: list[int]) -> set[str]:
    """The local addresses that the processes ``pids`` listen on for TCP connections."""
    inodes = _listening_inodes()
    addresses = set()
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:  # gone, or not ours
            continue
        for fd in fds:
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:  # closed meanwhile
                continue
            match = re.fullmatch(r"socket:\[(\d+)\]", link)
            if match and int(match.group(1)) in inodes:
                addresses.add(str(inodes[int(match.group(1))]))
    return addresses


def is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


class RayStartProcess:
    """One ``ray start --block`` command in its own session; ``stop`` kills it and everything it started."""

    def __init__(self, argv: list[str], env: dict, log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(argv, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        self._known: set[int] = set()

    def wait_started(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._known.update(descendants(self.process.pid))  # remember workers before raylet re-parents them
            if b"Ray runtime started" in self.log_path.read_bytes():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"`ray start` did not come up; log:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        pids = {self.process.pid, *self._known, *descendants(self.process.pid)}
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.process.wait(timeout=10)
        self._log.close()
