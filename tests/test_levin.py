"""Levin search (evolino.search) and the counting-inputs task (evolino.tasks.counting): the enumeration order and
time limits by hand-counted examples, the vectorised test scorer against brute force, the search finding the all-ones
program, the baselines, and bad arguments."""

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

from evolino.search import (
    LevinResult,
    Machine,
    WeightMachine,
    counting_inputs_task,
    levin_search,
    phase_programs,
    step_limits,
)
from evolino.tasks.counting import (
    TRAIN_ON_BITS,
    CountingTask,
    least_squares_weights,
    on_bit_combinations,
    random_guessing,
)


class TickState:
    def __init__(self):
        self.pc = 0
        self.ticks = 0

    def copy(self):
        new = TickState()
        new.pc, new.ticks = self.pc, self.ticks
        return new


class TickMachine(Machine):
    """halt; tick (count one); optionally jump (back to the start)."""

    def __init__(self, jump: bool):
        self.instructions = ("halt", "tick", "jump") if jump else ("halt", "tick")

    def start(self):
        return TickState()

    def execute(self, state, op):
        if op == 2:
            state.pc = 0
            return False
        state.pc += 1
        state.ticks += op == 1
        return op == 0

    def output(self, state):
        return np.array([state.ticks])


def runs(machine, phase, time_scale=1):
    return [(r.program, r.steps, r.halted) for r in phase_programs(machine, phase, time_scale)]


def test_step_limits_are_floor_c_2_to_the_i_times_n_to_the_minus_length():
    assert step_limits(2, 3) == [8, 4, 2, 1]
    assert step_limits(10, 19) == [524288, 52428, 5242, 524, 52, 5]
    assert step_limits(2, 2, time_scale=1.5) == [6, 3, 1]
    assert step_limits(10, 1) == [2]                            # only the empty program, which cannot read
    assert step_limits(3, 0, time_scale=0.5) == []


def test_enumeration_order_and_time_limits_by_hand():
    machine = TickMachine(jump=False)  # n = 2: a program of length l may take floor(2^i / 2^l) steps
    # phase 1: limits 2, 1. (1,) has taken its step and cannot read another instruction (limit 0): out of time.
    assert runs(machine, 1) == [((0,), 1, True), ((1,), 1, False)]
    # phase 2: limits 4, 2, 1: reading a second instruction would be step 2 > 1
    assert runs(machine, 2) == [((0,), 1, True), ((1,), 1, False)]
    # phase 3: limits 8, 4, 2, 1: length 2 may take 2 steps
    assert runs(machine, 3) == [((0,), 1, True), ((1, 0), 2, True), ((1, 1), 2, False)]
    assert runs(machine, 5) == [((0,), 1, True), ((1, 0), 2, True), ((1, 1, 0), 3, True), ((1, 1, 1), 3, False)]


def test_a_loop_runs_until_its_own_time_limit():
    machine = TickMachine(jump=True)  # n = 3; phase 5: limits 32, 10, 3, 1
    found = list(phase_programs(machine, 5))
    assert [(r.program, r.steps, r.halted) for r in found] == [
        ((0,), 1, True),       # halt
        ((1, 0), 2, True),     # tick halt
        ((1, 1), 2, False),    # tick tick: reading a third instruction would be step 3 > 1
        ((1, 2), 3, False),    # tick jump tick | jump: the 4th step exceeds the limit 3 of length 2
        ((2,), 10, False),     # jump jump ...: the 10 steps of length 1
    ]
    assert [int(r.output[0]) for r in found] == [0, 1, 2, 2, 0]
    # shared prefixes run once: "tick" is executed for (1, 0) and shared by (1, 1) and (1, 2)
    assert [r.new_steps for r in found] == [1, 2, 1, 2, 10]
    assert sum(r.steps for r in found) == 18 <= 2**5


def test_weight_machine_one_write_jump_by_hand():
    """``one write jump`` on 2 weights needs 5 steps (one write jump one write); P = 10^-3."""
    machine = WeightMachine(n_weights=2)
    program = (2, 6, 9)
    assert machine.describe(program) == "one write jump"
    by_program = {r.program: r for r in phase_programs(machine, 12)}        # limit floor(4096 / 1000) = 4
    assert (by_program[program].steps, by_program[program].halted) == (4, False)
    assert by_program[program].output.tolist() == [1, 0]
    by_program = {r.program: r for r in phase_programs(machine, 13)}        # limit 8
    assert (by_program[program].steps, by_program[program].halted) == (5, True)
    assert by_program[program].output.tolist() == [1, 1]


def test_weight_machine_instructions():
    machine = WeightMachine(n_weights=3, bound=2)
    state = machine.start()
    for op in (4, 4, 4):                    # inc stops at the bound
        assert not machine.execute(state, op)
    assert state.register == 2 and state.pc == 3
    machine.execute(state, 6)               # write 2 at 0
    for op in (5, 5, 5, 5, 5):              # dec stops at -bound
        machine.execute(state, op)
    machine.execute(state, 6)               # write -2 at 1
    machine.execute(state, 8)
    machine.execute(state, 8)
    machine.execute(state, 8)               # prev stops at 0
    assert state.pointer == 0
    machine.execute(state, 3)               # minus
    machine.execute(state, 6)               # write -1 at 0
    machine.execute(state, 1)               # zero
    assert machine.execute(state, 9) is False and state.pc == 0
    assert not machine.execute(state, 7)    # next: pointer 2
    assert machine.execute(state, 6)        # write at the last weight: halts
    assert machine.output(state).tolist() == [-1, -2, 0]
    assert machine.execute(machine.start(), 0)  # halt


def test_phase_programs_are_prefix_free_and_within_their_limits():
    machine = WeightMachine(n_weights=5)
    phase, scale = 14, 1.0
    limits = step_limits(10, phase, scale)
    found = list(phase_programs(machine, phase, scale))
    programs = [r.program for r in found]
    assert programs == sorted(programs) and len(set(programs)) == len(programs)   # depth first, instruction 0 first
    as_set = set(programs)
    assert not any(p[:k] in as_set for p in programs for k in range(len(p)))      # no program prefixes another
    assert all(len(r.program) <= r.steps <= limits[len(r.program)] for r in found)
    assert sum(r.steps for r in found) <= scale * 2**phase
    assert sum(r.new_steps for r in found) <= sum(r.steps for r in found)
    assert sum(Fraction(1, 10 ** len(p)) for p in programs) <= 1                   # Kraft


def test_the_test_scorer_matches_a_brute_force_loop():
    task = counting_inputs_task()
    combos = on_bit_combinations(100, 3)
    assert combos.shape == (161_700, 3) == (task.test_size, 3)
    assert [tuple(c) for c in combos[:500]] == list(itertools.islice(itertools.combinations(range(100), 3), 500))
    assert (np.diff(combos, axis=1) > 0).all() and len(np.unique(combos, axis=0)) == 161_700
    rng = np.random.default_rng(0)
    weights = rng.integers(0, 3, size=100)
    right = task.test_right(weights)
    for index in rng.choice(161_700, size=2000, replace=False):
        x = np.zeros(100)
        x[list(combos[index])] = 1
        assert right[index] == (abs(weights @ x - 3) < 0.5)
    assert task.test_fraction(weights) == pytest.approx(right.mean())
    small = CountingTask(n_inputs=9, on_bits=3, target=3.0, weight_bound=5, train_on_bits=task.train_on_bits[:1] % 9)
    w = rng.integers(-1, 3, size=9)
    brute = [abs(sum(w[i] * (i in c) for i in range(9)) - 3) < 0.5 for c in itertools.combinations(range(9), 3)]
    assert small.test_fraction(w) == pytest.approx(np.mean(brute))
    assert task.test_fraction(np.stack([weights, np.ones(100)])).tolist() == [pytest.approx(right.mean()), 1.0]


def test_training_examples_are_the_papers_zero_based():
    task = counting_inputs_task()
    assert task.train_on_bits.tolist() == [[4, 16, 85], [12, 54, 57], [39, 86, 93]]
    assert (np.array(TRAIN_ON_BITS) - 1).tolist() == task.train_on_bits.tolist()
    assert task.train_inputs.sum(axis=1).tolist() == [3, 3, 3] and task.train_targets.tolist() == [3.0] * 3
    assert task.fits(np.ones(100, dtype=int)) and task.test_fraction(np.ones(100)) == 1.0
    assert not task.fits(np.zeros(100, dtype=int))


def test_levin_finds_the_all_ones_program_and_it_generalises():
    task = counting_inputs_task()
    result = levin_search(task.fits, WeightMachine(n_weights=100, bound=10_000), 25)
    assert isinstance(result, LevinResult) and result.found
    assert result.program == ("one", "write", "jump") and result.halted and result.program_steps == 299
    assert result.phase == 19  # 299 steps for P = 10^-3: 2^19 / 1000 = 524 >= 299 > 262
    assert (result.weights == 1).all() and task.test_fraction(result.weights) == 1.0
    assert result.programs_tried == sum(result.phase_programs)
    assert result.steps_executed <= result.steps_total <= 2 ** (result.phase + 1)


def test_levin_on_another_task_returns_the_first_fitting_program_in_phase_order():
    machine = WeightMachine(n_weights=3, bound=5)
    target = [0, 1, 1]

    def fits(weights):
        return weights.tolist() == target

    result = levin_search(fits, machine, 20)
    assert result.found and result.weights.tolist() == target
    first = next((phase, r) for phase in range(1, 21) for r in phase_programs(machine, phase) if fits(r.output))
    assert (result.phase, result.opcodes) == (first[0], first[1].program)
    missing = levin_search(lambda w: False, machine, 6)
    assert not missing.found and missing.program is None and missing.phase == 6
    assert missing.programs_tried == sum(len(list(phase_programs(machine, i))) for i in range(1, 7))


def test_timed_out_programs_can_fit_without_generalising_unless_excluded():
    """c = 1.1: phase 18 stops ``one write jump`` after 288 steps, 96 weights written, which fits all three training
    examples (the last on-bit is input 93) but not the test inputs with an on-bit among 96..99."""
    task = counting_inputs_task()
    partial = levin_search(task.fits, WeightMachine(), 25, time_scale=1.1)
    assert partial.program == ("one", "write", "jump") and not partial.halted and partial.phase == 18
    assert partial.weights.tolist() == [1] * 96 + [0] * 4
    assert task.test_fraction(partial.weights) == pytest.approx(math.comb(96, 3) / math.comb(100, 3))
    halted = levin_search(task.fits, WeightMachine(), 25, time_scale=1.1, test_timeouts=False)
    assert halted.halted and halted.phase == 19 and task.test_fraction(halted.weights) == 1.0


def test_least_squares_fits_the_training_examples_but_hardly_generalises():
    task = counting_inputs_task()
    w = least_squares_weights(task)
    assert task.fits(w)
    assert np.flatnonzero(np.abs(w) > 1e-9).tolist() == sorted(task.train_on_bits.ravel().tolist())
    fraction = task.test_fraction(w)
    assert fraction < 0.01 and fraction == pytest.approx(math.comb(9, 3) / 161_700)  # 84 inputs: 0.052%


def test_random_guessing_is_reproducible_and_fails_on_the_real_bound():
    task = counting_inputs_task()
    a = random_guessing(task, 20_000, np.random.default_rng(3), chunk=7_000)
    b = random_guessing(task, 20_000, np.random.default_rng(3), chunk=7_000)
    assert not a.found and a.trials == 20_000 and a.train_right < 3
    assert (a.weights == b.weights).all() and a.max_train_error == b.max_train_error
    assert a.max_train_error == task.train_errors(a.weights).max()
    assert a.train_right == int((task.train_errors(a.weights) < 0.5).sum())
    assert np.abs(a.weights).max() <= 10_000
    easy = CountingTask(100, 3, 3.0, 1, task.train_on_bits)  # weights in {-1, 0, 1}: a fit every 3^9 guesses
    found = random_guessing(easy, 500_000, np.random.default_rng(0))
    assert found.found and found.train_right == 3 and easy.fits(found.weights) and found.trials < 500_000


def test_bad_arguments_raise_value_error():
    task = counting_inputs_task()
    machine = WeightMachine()
    bad_calls = [
        lambda: levin_search("not callable", machine, 5),
        lambda: levin_search(task.fits, object(), 5),
        lambda: levin_search(task.fits, machine, 0),                  # below start_phase 1
        lambda: levin_search(task.fits, machine, 5, start_phase=-1),
        lambda: levin_search(task.fits, machine, 5.0),
        lambda: levin_search(task.fits, machine, True),
        lambda: levin_search(task.fits, machine, 5, time_scale=0),
        lambda: levin_search(task.fits, machine, 5, time_scale=-1.0),
        lambda: levin_search(task.fits, machine, 5, time_scale=float("nan")),
        lambda: levin_search(task.fits, machine, 5, time_scale=float("inf")),
        lambda: levin_search(task.fits, _OneInstruction(), 5),
        lambda: list(phase_programs(machine, -1)),
        lambda: step_limits(1, 3),
        lambda: WeightMachine(n_weights=0),
        lambda: WeightMachine(bound=0),
        lambda: WeightMachine(n_weights=2.5),
        lambda: machine.execute(machine.start(), 10),
        lambda: task.fits(np.ones(99)),
        lambda: task.fits(np.ones((2, 100))),
        lambda: task.test_fraction(np.ones((2, 3, 100))),
        lambda: task.test_right(np.ones((2, 100))),
        lambda: on_bit_combinations(3, 4),
        lambda: random_guessing(task, 0, np.random.default_rng(0)),
        lambda: random_guessing(task, 10, np.random.default_rng(0), chunk=0),
        lambda: random_guessing(task, 10, 0),
    ]
    for index, call in enumerate(bad_calls):
        try:
            call()
        except ValueError:
            continue
        pytest.fail(f"bad call {index} did not raise ValueError")


class _OneInstruction(TickMachine):
    def __init__(self):
        self.instructions = ("halt",)
