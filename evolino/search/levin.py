"""Universal (Levin) search for programs whose output fits a task, e.g. programs that compute a network's weights.

Levin, *Universal sequential search problems*, Problems of Information Transmission 9(3), 1973; Schmidhuber,
*Discovering neural nets with low Kolmogorov complexity and high generalization capability*, Neural Networks 10(5),
1997.

Idea. Instead of searching the weights themselves, search the programs that write them, shortest and fastest first.
A program is a sequence of instructions of a small machine (:class:`Machine`); with ``n`` instructions, each drawn
with probability 1/n, a program of length ``l`` has probability ``P(p) = n^-l``. Search runs in phases i = 1, 2, ...;
in phase i every program may run for at most ``c 2^i P(p)`` steps, so its total time is bounded, and the first
program whose output fits the task (``fits(output) -> bool``) is returned. A solution that needs ``t*`` steps and has
probability ``P*`` is found by phase ``ceil(log2(t* / (c P*)))`` at the latest, at a total cost of at most
``4 t* / P*`` steps, however large the space of outputs: a short program that fits quickly is found quickly
(Levin 1973).

Self-delimiting programs. The program tape is read one instruction at a time, when the program counter first reaches
it; a program is the sequence of instructions read before it halts or runs out of time. No program can then be a
proper prefix of another one of the same phase (prefix-free), so by Kraft's inequality sum_p P(p) <= 1. A running
prefix that reads past its end is continued by each of the ``n`` instructions in turn (its state copied): the phase is
a depth-first walk of the tree of prefixes, instruction 0 first.

Equations, with integer step counts and the time scale ``c`` (``time_scale``, default 1)::

    P(p)       = n^-l(p)                                     l(p): instructions read
    t_i(p)     = floor(c 2^i n^-l(p))                        the steps p may take in phase i
    sum_p t(p) <= c 2^i                                      steps of phase i (each program counted from its start)
    sum over phases 1..i  <= c 2^(i+1)

A step is one executed instruction, including the one that reads a new cell of the tape: a program of length l has
taken at least l steps. Phase i tries a program of length l only if it can take its l-th step; a prefix that could
take another step but not read the next instruction has run out of time and is a program of its own (it is tested
like a halted one: its output is whatever it wrote so far). Shared prefixes are executed once per phase
(``steps_executed`` <= ``steps_total``). A timed-out program's partial output can fit a task without being its
solution (``levin_search(..., test_timeouts=False)`` tests halted programs only).

:class:`WeightMachine`, the machine for the weights of a network (N weights, bound B): state weights w (N,) ints,
all 0; pointer k = 0; register r = 0; program counter pc = 0. Ten instructions, in enumeration order::

    0 halt    stop
    1 zero    r := 0
    2 one     r := 1
    3 minus   r := -1
    4 inc     r := min(r + 1, B)
    5 dec     r := max(r - 1, -B)
    6 write   w[k] := r; k := k + 1        halts when k reaches N (every weight visited)
    7 next    k := k + 1                   halts when k reaches N
    8 prev    k := max(k - 1, 0)
    9 jump    pc := 0                      back to the start of the program (a loop)

Every instruction other than ``jump`` then sets pc := pc + 1. ``one write jump`` writes 1 to every weight in 3N - 1
steps, P = 10^-3.

Layout: :class:`Machine` (the contract a machine meets), :class:`WeightMachine`, :func:`phase_programs` (one phase's
programs, in order, as :class:`ProgramRun`), :func:`levin_search` (the phases until a fit, a :class:`LevinResult`).
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from numbers import Real
from typing import Any

import numpy as np

__all__ = ["Machine", "WeightMachine", "WeightState", "ProgramRun", "LevinResult", "phase_programs", "step_limits",
           "levin_search"]


class Machine(ABC):
    """A machine that runs programs of numbered instructions (opcodes ``0 .. n-1``) and leaves an output.

    A subclass defines ``instructions`` (the names, index = opcode) and four methods. A state is any object with an
    int attribute ``pc`` (the program counter, 0 at the start) and a ``copy()`` method; :meth:`execute` must leave
    ``pc`` at most one past the instructions read so far (jumps go back, or to the next instruction).
    """

    instructions: tuple[str, ...] = ()

    @property
    def n_instructions(self) -> int:
        """n: the number of instructions; every program of length l has probability n^-l."""
        return len(self.instructions)

    @abstractmethod
    def start(self) -> Any:
        """A fresh state (``pc`` 0)."""

    @abstractmethod
    def execute(self, state: Any, op: int) -> bool:
        """Execute instruction ``op`` (the one at ``state.pc``) in place; True when the machine has halted."""

    @abstractmethod
    def output(self, state: Any) -> np.ndarray:
        """What the program has computed so far (e.g. a weight vector), a new array."""

    def describe(self, program: tuple[int, ...]) -> str:
        """A program's instruction names, space-separated."""
        return " ".join(self.instructions[op] for op in program)


class WeightState:
    """State of a :class:`WeightMachine`: program counter, weight pointer, register and the weights (N,) written."""

    __slots__ = ("pc", "pointer", "register", "weights")

    def __init__(self, n_weights: int) -> None:
        self.pc = 0
        self.pointer = 0
        self.register = 0
        self.weights = [0] * n_weights

    def copy(self) -> WeightState:
        new = WeightState.__new__(WeightState)
        new.pc, new.pointer, new.register, new.weights = self.pc, self.pointer, self.register, self.weights[:]
        return new


class WeightMachine(Machine):
    """The ten-instruction machine that writes the integer weights of a network (see the module docstring).

    Parameters
    ----------
    n_weights : int
        N, the length of the weight vector the programs write (100 for the counting task).
    bound : int
        B: the register, and so every weight, stays in [-B, B] (10,000 in Schmidhuber 1997).
    """

    instructions = ("halt", "zero", "one", "minus", "inc", "dec", "write", "next", "prev", "jump")

    def __init__(self, n_weights: int = 100, bound: int = 10_000) -> None:
        for name, value in (("n_weights", n_weights), ("bound", bound)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        self.n_weights = int(n_weights)
        self.bound = int(bound)

    def __repr__(self) -> str:
        return f"WeightMachine(n_weights={self.n_weights}, bound={self.bound})"

    def start(self) -> WeightState:
        return WeightState(self.n_weights)

    def execute(self, state: WeightState, op: int) -> bool:
        if op == 9:  # jump
            state.pc = 0
            return False
        state.pc += 1
        if op == 6:  # write
            state.weights[state.pointer] = state.register
            state.pointer += 1
            return state.pointer >= self.n_weights
        if op == 2:
            state.register = 1
        elif op == 4:
            state.register = min(state.register + 1, self.bound)
        elif op == 1:
            state.register = 0
        elif op == 3:
            state.register = -1
        elif op == 5:
            state.register = max(state.register - 1, -self.bound)
        elif op == 7:
            state.pointer += 1
            return state.pointer >= self.n_weights
        elif op == 8:
            state.pointer = max(state.pointer - 1, 0)
        elif op == 0:
            return True
        else:
            raise ValueError(f"no instruction {op!r}: opcodes are 0..{self.n_instructions - 1}")
        return False

    def output(self, state: WeightState) -> np.ndarray:
        """The weights written so far, (N,) int64 (0 where nothing was written)."""
        return np.array(state.weights, dtype=np.int64)


@dataclass(frozen=True)
class ProgramRun:
    """One program of a phase, run to its end.

    Attributes
    ----------
    program : tuple of int
        The opcodes read, in order; P(program) = n^-len(program).
    output : ndarray
        The machine's output when the program stopped (for :class:`WeightMachine`, the weights (N,)).
    steps : int
        Instructions the program executed from its start (<= its limit ``floor(c 2^i n^-len)``).
    halted : bool
        True if the program halted; False if it ran out of time.
    new_steps : int
        Steps executed for this program that no earlier program of the phase had executed (its own part after the
        prefix it shares with the program before it); their sum over a phase is the phase's executed steps.
    """

    program: tuple[int, ...]
    output: np.ndarray
    steps: int
    halted: bool
    new_steps: int


@dataclass(frozen=True)
class LevinResult:
    """What :func:`levin_search` found and what it cost.

    Attributes
    ----------
    found : bool
        Whether a program fitted within ``max_phase``.
    program : tuple of str or None
        The fitting program's instruction names (None if none was found).
    opcodes : tuple of int or None
        The same program as opcodes.
    weights : ndarray or None
        Its output, e.g. the weight vector (N,).
    phase : int
        The phase it was found in (the last phase run if none was found).
    programs_tried : int
        Programs run and tested, summed over all phases (a program is tried again in every later phase).
    steps_total : int
        Steps of the programs run, each counted from its own start (the Levin accounting; <= c 2^(phase + 1)).
    steps_executed : int
        Instructions actually executed: a prefix shared by several programs runs once per phase.
    program_steps : int or None
        Steps the fitting program took.
    halted : bool or None
        Whether the fitting program halted (False: it ran out of time and its partial output fitted).
    seconds : float
        Wall time of the search.
    time_scale : float
        c: phase i gives a program p at most floor(c 2^i P(p)) steps.
    phase_programs : tuple of int
        Programs tried in each phase run, from ``start_phase``.
    """

    found: bool
    program: tuple[str, ...] | None
    opcodes: tuple[int, ...] | None
    weights: np.ndarray | None
    phase: int
    programs_tried: int
    steps_total: int
    steps_executed: int
    program_steps: int | None
    halted: bool | None
    seconds: float
    time_scale: float
    phase_programs: tuple[int, ...]


def _check_machine(machine: Machine) -> int:
    if not isinstance(machine, Machine):
        raise ValueError(f"machine must be an evolino.search.Machine, got {type(machine).__name__}")
    n = machine.n_instructions
    if n < 2:
        raise ValueError(f"a machine needs at least 2 instructions, got {n}")
    return n


def _check_phase(name: str, value: int, lowest: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < lowest:
        raise ValueError(f"{name} must be an int >= {lowest}, got {value!r}")
    return int(value)


def _check_time_scale(time_scale: float) -> Fraction:
    if isinstance(time_scale, bool) or not isinstance(time_scale, Real) or not math.isfinite(time_scale) \
            or time_scale <= 0:
        raise ValueError(f"time_scale must be a positive finite number, got {time_scale!r}")
    return Fraction(time_scale)


def step_limits(n_instructions: int, phase: int, time_scale: float = 1) -> list[int]:
    """The steps a program of each length may take in a phase: ``floor(c 2^i n^-l)`` for l = 0, 1, ... while >= 1.

    Parameters
    ----------
    n_instructions : int
        n, the machine's number of instructions (>= 2).
    phase : int
        i >= 0.
    time_scale : float
        c > 0.

    Returns
    -------
    list of int
        ``limits[l]`` for every length l whose limit is at least one step (so at most ``len(limits) - 1``
        instructions can be read in this phase).
    """
    if isinstance(n_instructions, bool) or not isinstance(n_instructions, int | np.integer) or n_instructions < 2:
        raise ValueError(f"n_instructions must be an int >= 2, got {n_instructions!r}")
    budget = _check_time_scale(time_scale) * 2 ** _check_phase("phase", phase)
    limits = []
    power = 1
    while (limit := math.floor(budget / power)) >= 1:
        limits.append(limit)
        power *= int(n_instructions)
    return limits


def phase_programs(machine: Machine, phase: int, time_scale: float = 1) -> Iterator[ProgramRun]:
    """Run every program of phase ``phase``, depth first (instruction 0 first), yielding each when it stops.

    Parameters
    ----------
    machine : Machine
        The machine; n = ``machine.n_instructions``.
    phase : int
        i >= 0: a program of length l may take ``floor(c 2^i n^-l)`` steps.
    time_scale : float
        c > 0.

    Yields
    ------
    ProgramRun
        Each program that halted or ran out of time, with its output; the programs of a phase are prefix-free and
        their ``steps`` sum to at most ``c 2^i``.
    """
    _check_machine(machine)
    limits = step_limits(machine.n_instructions, phase, time_scale)
    n = machine.n_instructions
    execute = machine.execute
    stack: list[tuple[tuple[int, ...], Any, int]] = [((), machine.start(), 0)]
    fresh = 0  # steps executed since the last program was yielded
    while stack:
        program, state, t = stack.pop()
        length = len(program)
        limit = limits[length]
        while True:
            pc = state.pc
            if pc == length:  # read a new instruction: the program grows, if the longer one may take this step
                if length + 1 < len(limits) and t + 1 <= limits[length + 1]:
                    for op in range(n - 1, 0, -1):
                        stack.append(((*program, op), state.copy(), t))
                    stack.append(((*program, 0), state, t))
                    break
                yield ProgramRun(program, machine.output(state), t, False, fresh)
                fresh = 0
                break
            if pc > length or pc < 0:
                raise RuntimeError(f"{type(machine).__name__} moved the program counter to {pc}, beyond the "
                                   f"{length} instructions read")
            if t >= limit:
                yield ProgramRun(program, machine.output(state), t, False, fresh)
                fresh = 0
                break
            t += 1
            fresh += 1
            if execute(state, program[pc]):
                yield ProgramRun(program, machine.output(state), t, True, fresh)
                fresh = 0
                break


def levin_search(fits: Callable[[np.ndarray], bool], machine: Machine, max_phase: int, *, time_scale: float = 1,
                 start_phase: int = 1, test_timeouts: bool = True) -> LevinResult:
    """Levin search: phases ``start_phase .. max_phase``, each running every program within its time limit, until
    a program's output fits.

    Parameters
    ----------
    fits : callable
        ``fits(output) -> bool``, the task: called with each program's output (for :class:`WeightMachine` the
        weights (N,) int64) in enumeration order; the first True ends the search.
    machine : Machine
        The instruction set and its interpreter, e.g. ``WeightMachine(n_weights=100)``.
    max_phase : int
        The last phase to run (>= ``start_phase``); phase i costs at most ``c 2^i`` steps.
    time_scale : float
        c > 0: in phase i a program p may take at most ``floor(c 2^i P(p))`` steps, P(p) = n^-len(p).
    start_phase : int
        The first phase (>= 0; 1 as in Schmidhuber 1997).
    test_timeouts : bool
        Test the programs that ran out of time too, on what they wrote so far (True, as in Schmidhuber 1997); with
        False only halted programs are tested (and counted in ``programs_tried``).

    Returns
    -------
    LevinResult
        The first fitting program (``found`` False if none fitted by ``max_phase``) and the search's costs.
    """
    if not callable(fits):
        raise ValueError(f"fits must be a callable output -> bool, got {fits!r}")
    _check_machine(machine)
    start_phase = _check_phase("start_phase", start_phase)
    max_phase = _check_phase("max_phase", max_phase, start_phase)
    _check_time_scale(time_scale)
    started = time.perf_counter()
    tried = steps_total = steps_executed = 0
    per_phase: list[int] = []
    for phase in range(start_phase, max_phase + 1):
        per_phase.append(0)
        for run in phase_programs(machine, phase, time_scale):
            steps_total += run.steps
            steps_executed += run.new_steps
            if not (run.halted or test_timeouts):
                continue
            tried += 1
            per_phase[-1] += 1
            if fits(run.output):
                return LevinResult(True, tuple(machine.instructions[op] for op in run.program), run.program,
                                   run.output, phase, tried, steps_total, steps_executed, run.steps, run.halted,
                                   time.perf_counter() - started, float(time_scale), tuple(per_phase))
    return LevinResult(False, None, None, None, max_phase, tried, steps_total, steps_executed, None, None,
                       time.perf_counter() - started, float(time_scale), tuple(per_phase))
