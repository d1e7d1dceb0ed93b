"""The default solve (`auto`): the portfolio of the heuristic and CP-SAT."""

from __future__ import annotations

import sys
import threading
import time

import numpy as np
import pytest
from paths import INSTANCES

import scheduler
import solvers.cpsat.options
import solvers.heuristics.solver as heuristics_solver
import solvers.lns.solver as lns_solver
import solvers.portfolio.solver as portfolio_solver
from scheduler.core import compile as compile_module
from scheduler.core.compile import CompiledInstance
from scheduler.core.model import Instance, Job, Machine, Mode, Operation
from scheduler.core.objective import Objective
from scheduler.core.protocol import SolveConfig
from scheduler.core.result import Progress, Result
from scheduler.core.schedule import Schedule
from scheduler.core.solve import DEFAULT_SOLVER
from scheduler.io import load
from solvers.portfolio import AutoSolver


def _setup_plant() -> Instance:
    """Six jobs of two ops on two machines with family changeovers."""
    jobs = tuple(
        Job(
            f"J{j}",
            (
                Operation(f"J{j}-0", (Mode("M0", 2 + j % 3), Mode("M1", 3)), family="ab"[j % 2]),
                Operation(f"J{j}-1", (Mode("M1", 1 + j % 2),), family="ab"[(j + 1) % 2]),
            ),
        )
        for j in range(6)
    )
    setups = {m: {"a": {"b": 2}, "b": {"a": 3}} for m in ("M0", "M1")}
    return Instance((Machine("M0"), Machine("M1")), jobs, setup_times=setups)


def test_auto_is_the_default_of_the_facade_and_the_command_line() -> None:
    assert DEFAULT_SOLVER == "auto"
    result = scheduler.solve(load(INSTANCES / "jssp" / "ft06.txt"), time_limit=20, workers=2)
    assert result.solver == "auto"
    assert result.status == "optimal" and result.objective == 55 == result.bound


def test_a_refused_part_falls_back_to_the_other(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(solvers.cpsat.options, "MAX_SETUP_ARCS", 1)
    logged: list[str] = []
    instance = _setup_plant()
    result = scheduler.solve(instance, time_limit=3, workers=1, log=logged.append)
    assert result.schedule is not None and result.status in ("feasible", "optimal")
    assert "cpsat refused the instance" in result.message
    assert any("cpsat refused the instance" in line for line in logged)
    assert scheduler.validate(instance, result.schedule) == []


def test_the_default_is_no_worse_than_the_heuristics_start() -> None:
    instance = load(INSTANCES / "fjsp" / "brandimarte" / "mk03.fjs")
    start = scheduler.solve(instance, solver="heuristic", local_search=False, workers=1)
    result = scheduler.solve(instance, time_limit=4, workers=2)
    assert result.objective is not None and start.objective is not None
    assert result.objective <= start.objective
    assert result.bound is not None and result.bound <= result.objective


def test_the_instance_is_compiled_once_per_solve(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = compile_module.compile_instance

    def counting(instance: Instance) -> object:
        calls.append(instance.name)
        return real(instance)

    for module in list(sys.modules.values()):
        if getattr(module, "__dict__", {}).get("compile_instance") is real:
            monkeypatch.setattr(module, "compile_instance", counting)
    instance = load(INSTANCES / "jssp" / "la01.txt")
    for solver in ("auto", "cpsat", "heuristic"):
        calls.clear()
        scheduler.solve(instance, solver=solver, time_limit=2, workers=1)
        assert calls == [instance.name], solver


def test_the_time_limit_holds_and_the_best_bound_is_reported() -> None:
    instance = load(INSTANCES / "jssp" / "ta41.txt")
    started = time.perf_counter()
    result = scheduler.solve(instance, time_limit=3, workers=2)
    assert time.perf_counter() - started <= 3 + 1.0
    assert result.status == "feasible" and result.bound is not None
    assert result.bound >= instance_bound(instance)


def instance_bound(instance: Instance) -> float:
    return float(scheduler.compile_instance(instance).lower_bound)


def test_a_schedule_at_the_lower_bound_ends_the_search_early() -> None:
    """One machine, one mode each: every order has the same energy, so the bound is met."""
    jobs = tuple(Job(f"J{j}", (Operation(f"J{j}-0", (Mode("M", 3, 2.0),)),)) for j in range(4))
    instance = Instance((Machine("M"),), jobs)
    for solver in ("heuristic", "auto"):
        started = time.perf_counter()
        result = scheduler.solve(instance, solver=solver, objective="energy", time_limit=60)
        assert result.status == "optimal" and result.objective == result.bound
        assert time.perf_counter() - started < 30, solver


def test_auto_declares_everything_its_parts_model() -> None:
    caps = AutoSolver.capabilities
    assert "setups" in caps.features and "carbon" in caps.terms and caps.lexicographic


class _Idle:
    """A part that finds nothing: it waits for its stop and records its turns."""

    capabilities = AutoSolver.capabilities

    def __init__(self, name: str) -> None:
        self.name = name
        self.turns: list[tuple[int, float]] = []  # (seed, seconds)

    def solve(self, compiled: CompiledInstance, config: SolveConfig) -> Result:
        started = time.perf_counter()
        config.stop.wait(config.time_limit)
        self.turns.append((config.seed, time.perf_counter() - started))
        return Result("unknown", self.name)


def test_a_fruitless_turn_doubles_the_others_patience_and_turns_get_new_seeds() -> None:
    """Patience max(1 s, 20 % of 4 s) = 1 s: turns of 1 s, then 2 s after the first fruitless
    turn of the other part; each turn of a part has a seed of its own."""
    auto = AutoSolver()
    first, second = _Idle("first"), _Idle("second")
    auto.parts = [first, second]
    compiled = scheduler.compile_instance(load(INSTANCES / "jssp" / "ft06.txt"))
    auto.solve(compiled, SolveConfig(time_limit=4.0, seed=5))
    (seed_a, long_a), *_ = first.turns
    (seed_b, long_b), *_ = second.turns
    assert 0.9 <= long_a <= 1.4 and 1.9 <= long_b <= 2.4
    seeds = [seed for seed, _ in first.turns]
    assert seed_a == seed_b == 5 and len(first.turns) == 2 and len(set(seeds)) == 2


class _Proving(_Idle):
    """A part whose bound rises every 0.3 s for 2.4 s (as CP-SAT's on the way to a proof),
    with no better schedule, then waits for its stop."""

    def solve(self, compiled: CompiledInstance, config: SolveConfig) -> Result:
        started = time.perf_counter()
        for step in range(1, 9):
            if config.stop.wait(0.3):
                break
            assert config.on_progress is not None
            config.on_progress(Progress(time.perf_counter() - started, None, 1000.0 + step))
        config.stop.wait(config.time_limit)
        self.turns.append((config.seed, time.perf_counter() - started))
        return Result("unknown", self.name)


def test_a_rising_bound_keeps_the_turn() -> None:
    """Patience 1 s: a part raising the best bound keeps its turn while it does (2.4 s), then
    hands over 1 s after its last gain; the bound it reached is reported."""
    auto = AutoSolver()
    proving, other = _Proving("proving"), _Idle("other")
    auto.parts = [proving, other]
    compiled = scheduler.compile_instance(load(INSTANCES / "jssp" / "ft06.txt"))
    result = auto.solve(compiled, SolveConfig(time_limit=4.0))
    (_, turn), *_ = proving.turns
    assert 3.2 <= turn <= 3.9
    assert result.bound == 1008.0


class _Gaining(_Idle):
    """A part that lowers a shared objective by `step` every 0.1 s, `times` times a turn
    (as a search finding better schedules), then waits for its stop."""

    def __init__(self, name: str, shared: list[float], step: float, times: int) -> None:
        super().__init__(name)
        self.shared, self.step, self.times = shared, step, times

    def waits(self, config: SolveConfig) -> list[float]:
        """The seconds before each gain: 0.1, `times` times, within the turn's limit."""
        assert config.time_limit is not None
        return [0.1] * min(self.times, int(config.time_limit / 0.1))

    def solve(self, compiled: CompiledInstance, config: SolveConfig) -> Result:
        started = time.perf_counter()
        for wait in self.waits(config):
            if config.stop.wait(wait):
                break
            self.shared[0] -= self.step
            assert config.on_progress is not None
            config.on_progress(Progress(time.perf_counter() - started, self.shared[0], None))
        config.stop.wait(config.time_limit)
        self.turns.append((config.seed, time.perf_counter() - started))
        mode = compiled.mode_ptr[:-1]  # one op after another: a valid (poor) schedule
        start = np.concatenate(([0], np.cumsum(compiled.mode_duration[mode])[:-1]))
        schedule = Schedule.from_arrays(compiled, mode, start)
        value = self.shared[0]
        return Result("feasible", self.name, schedule, objective=value, objectives=[value])


@pytest.mark.parametrize("leap", [50.0, 0.0])
def test_a_trickle_of_small_gains_hands_over_to_a_part_that_gained_faster(leap: float) -> None:
    """Patience 1 s. The first part gains 3 x `leap` from 1000 in its turn (15 %, then stale:
    about 1.3 s); the second gains 0.01 % every 0.1 s without end. Slower than the first
    part's pace, it hands over after 1 s; when the first part gained nothing, it keeps the
    cores to the end (gains reset the patience)."""
    auto = AutoSolver()
    shared = [1000.0]
    first, trickle = _Gaining("first", shared, leap, 3), _Gaining("trickle", shared, 0.1, 10**6)
    auto.parts = [first, trickle]
    compiled = scheduler.compile_instance(load(INSTANCES / "jssp" / "ft06.txt"))
    auto.solve(compiled, SolveConfig(time_limit=4.0))
    (_, turn), *_ = trickle.turns
    if leap:
        assert 0.9 <= turn <= 1.4 and len(first.turns) >= 2
    else:
        assert turn >= 1.5 and len(first.turns) == 1


class _Stepping(_Gaining):
    """A part that lowers a shared objective by 1 after each of `delays` (seconds), as a
    search whose steps take long, then waits for its stop."""

    def __init__(self, name: str, shared: list[float], delays: list[float]) -> None:
        super().__init__(name, shared, 1.0, len(delays))
        self.delays = delays

    def waits(self, config: SolveConfig) -> list[float]:
        return self.delays


def test_a_part_whose_steps_take_long_is_not_cut_off_between_them() -> None:
    """Patience max(1 s, 20 % of 7.5 s) = 1.5 s; after its first schedule the part's step took
    1 s, so its patience stretches to CADENCE x 1 s = 2 s, and a gain 1.7 s after the last is
    still its turn's (without the stretch the turn would end 1.5 s after the second gain)."""
    auto = AutoSolver()
    shared = [1000.0]
    slow, other = _Stepping("slow", shared, [0.3, 1.0, 1.7]), _Idle("other")
    auto.parts = [slow, other]
    compiled = scheduler.compile_instance(load(INSTANCES / "jssp" / "ft06.txt"))
    auto.solve(compiled, SolveConfig(time_limit=7.5))
    (_, turn), *_ = slow.turns
    assert shared[0] == 997.0 and turn >= 3.0


@pytest.mark.parametrize("after", ["lns", "other"])
def test_lns_first_turn_waits_for_a_share_of_the_limit(after: str) -> None:
    """A part that gains nothing keeps the cores until LNS_HOLD of the limit (3 s of 4) before
    lns's first turn; before another part, the patience of 1 s holds."""
    auto = AutoSolver()
    first = _Idle("first")
    auto.parts = [first, _Idle(after)]
    compiled = scheduler.compile_instance(load(INSTANCES / "jssp" / "ft06.txt"))
    auto.solve(compiled, SolveConfig(time_limit=4.0))
    (_, turn), *_ = first.turns
    if after == "lns":
        assert 2.9 <= turn <= 3.4
    else:
        assert 0.9 <= turn <= 1.4


@pytest.mark.parametrize("lns", [False, True])
def test_cpsat_fills_the_kernels_load_but_lns_does_not(
    monkeypatch: pytest.MonkeyPatch, lns: bool
) -> None:
    """While the heuristic's kernels load (here: for 0.3 s), CP-SAT takes the cores; lns,
    which starts from the heuristic and would wait for them too, does not: the heuristic
    goes first (the default solve's first schedule on the capped 2,000-job plant came
    0.5-1 s after the heuristic alone's)."""
    loaded = threading.Event()
    threading.Timer(0.3, loaded.set).start()

    def loading(deadline: float, stop: threading.Event | None = None) -> bool:
        return loaded.wait(max(0.0, deadline - time.perf_counter()))

    monkeypatch.setattr(portfolio_solver, "ready_event", lambda: loaded)
    monkeypatch.setattr(portfolio_solver, "kernels_ready", loading)
    if lns:
        monkeypatch.setattr(portfolio_solver, "CPSAT_MAX_OPS", 10)
    compiled = scheduler.compile_instance(load(INSTANCES / "jssp" / "ft06.txt"))
    result = AutoSolver().solve(compiled, SolveConfig(time_limit=2, workers=1))
    assert result.schedule is not None
    assert (portfolio_solver.KERNELS_NOTE in result.message) is not lns
    assert ("lns instead of cpsat" in result.message) is lns
    assert portfolio_solver.LIST_NOTE not in result.message  # loaded within LOAD_WAIT_S
    assert portfolio_solver.COMPILING_NOTE not in result.message


@pytest.mark.parametrize("objective", ["makespan", "makespan=1,total_flow_time=0.1234567"])
def test_the_list_schedule_stands_in_while_the_kernels_compile(
    monkeypatch: pytest.MonkeyPatch, objective: str
) -> None:
    """Where CP-SAT is no part (lns instead, on large instances) and the kernels are still
    compiling (the first run after an install), the list schedule is returned rather than
    nothing, for objectives CP-SAT refuses too (weights it cannot scale to integers)."""
    never = threading.Event()

    def compiling(deadline: float | None, stop: threading.Event | None = None) -> bool:
        left = None if deadline is None else max(0.0, deadline - time.perf_counter())
        (stop or threading.Event()).wait(left)
        return False

    monkeypatch.setattr(portfolio_solver, "ready_event", lambda: never)
    monkeypatch.setattr(portfolio_solver, "kernels_ready", compiling)
    monkeypatch.setattr(heuristics_solver, "kernels_ready", compiling)
    monkeypatch.setattr(lns_solver, "kernels_ready", compiling)
    monkeypatch.setattr(portfolio_solver, "CPSAT_MAX_OPS", 10)
    instance = load(INSTANCES / "jssp" / "ft06.txt")
    config = SolveConfig(objective=Objective.parse(objective), time_limit=3)
    started = time.perf_counter()
    result = AutoSolver().solve(scheduler.compile_instance(instance), config)
    assert time.perf_counter() - started < 3 + 1
    assert result.schedule is not None and result.status == "feasible"
    assert scheduler.validate(instance, result.schedule) == []
    assert portfolio_solver.LIST_NOTE in result.message
    assert "best from list schedule" in result.message
    assert portfolio_solver.COMPILING_NOTE in result.message  # with what to do about it


@pytest.mark.parametrize("compiling", [False, True])
def test_on_large_instances_the_list_schedule_and_a_wait_come_before_cpsat(
    monkeypatch: pytest.MonkeyPatch, compiling: bool
) -> None:
    """From KERNELS_FIRST_OPS operations, while the kernels load: the list schedule at once,
    then a wait for them; CP-SAT stands in only when they do not come (compiling), since its
    model building took the interpreter and cores from their loading (4.3 s instead of 1.5-1.8
    s on a 2,000-operation FJSP)."""
    loaded = threading.Event()
    if not compiling:
        threading.Timer(0.3, loaded.set).start()

    def loading(deadline: float | None, stop: threading.Event | None = None) -> bool:
        left = None if deadline is None else max(0.0, deadline - time.perf_counter())
        return loaded.wait(left)

    monkeypatch.setattr(portfolio_solver, "ready_event", lambda: loaded)
    monkeypatch.setattr(portfolio_solver, "kernels_ready", loading)
    monkeypatch.setattr(heuristics_solver, "kernels_ready", loading)
    monkeypatch.setattr(portfolio_solver, "KERNELS_FIRST_OPS", 10)
    compiled = scheduler.compile_instance(load(INSTANCES / "jssp" / "ft06.txt"))
    result = AutoSolver().solve(compiled, SolveConfig(time_limit=3, workers=1))
    assert result.schedule is not None
    assert scheduler.validate(compiled.instance, result.schedule) == []
    assert portfolio_solver.LIST_NOTE in result.message
    assert (portfolio_solver.KERNELS_NOTE in result.message) is compiling
    assert (portfolio_solver.COMPILING_NOTE in result.message) is (
        compiling and result.status != "optimal"
    )


class _Early(_Gaining):
    """A part that gains once, 0.1 s into its first turn, and never again (as the heuristic on
    a small shop, at its best at once)."""

    def __init__(self, name: str, shared: list[float]) -> None:
        super().__init__(name, shared, 1.0, 1)

    def waits(self, config: SolveConfig) -> list[float]:
        return [] if self.turns else [0.1]


class _Instant(_Early):
    """A part at its best 0.01 s into its first turn (the heuristic on a tiny shop)."""

    def waits(self, config: SolveConfig) -> list[float]:
        return [] if self.turns else [0.01]


def _heuristic_and_cpsat(limit: float) -> tuple[_Early, _Idle]:
    """Run auto with stand-ins named as the heuristic (gains early) and CP-SAT (idle)."""
    auto = AutoSolver()
    early, idle = _Early("heuristic", [1000.0]), _Idle("cpsat")
    auto.parts = [early, idle]
    compiled = scheduler.compile_instance(load(INSTANCES / "jssp" / "ft06.txt"))
    auto.solve(compiled, SolveConfig(time_limit=limit))
    return early, idle


@pytest.mark.parametrize(("ready", "warming", "compiling"), [
    (False, 5.0, True), (False, 1.0, False), (True, 5.0, False),
])  # fmt: skip
def test_the_note_says_compiling_only_past_a_cache_load(
    monkeypatch: pytest.MonkeyPatch, ready: bool, warming: float, compiling: bool
) -> None:
    """Kernels not ready LOAD_WAIT_S after the warm-up started are compiling; within it they
    may be loading from the cache (0.5-2 s), and the note would send a user to `warmup` for
    nothing."""
    event = threading.Event()
    if ready:
        event.set()
    monkeypatch.setattr(portfolio_solver, "ready_event", lambda: event)
    monkeypatch.setattr(portfolio_solver, "warming_seconds", lambda: warming)
    assert portfolio_solver._compiling() is compiling


def test_a_stalled_heuristic_hands_over_after_stall_min_s() -> None:
    """A heuristic at its best 0.01 s into its turn hands over STALL_MIN_S (0.25 s) later,
    not after a second: on a tiny instance CP-SAT proves the optimum in 0.1-0.2 s."""
    auto = AutoSolver()
    early, idle = _Instant("heuristic", [1000.0]), _Idle("cpsat")
    auto.parts = [early, idle]
    compiled = scheduler.compile_instance(load(INSTANCES / "jssp" / "ft06.txt"))
    auto.solve(compiled, SolveConfig(time_limit=10.0))
    (_, turn), *_ = early.turns
    assert 0.25 <= turn <= 0.6


def test_a_stalled_heuristic_hands_over_to_cpsat_before_its_patience() -> None:
    """Patience max(1 s, 20 % of 10 s) = 2 s; the heuristic's last gain came 0.1 s into its
    turn, so it hands over once it has gone max(0.25 s, STALL x 0.1 s) = 0.5 s without one."""
    early, _ = _heuristic_and_cpsat(10.0)
    (_, turn), *_ = early.turns
    assert 0.6 <= turn <= 1.1


def test_cpsat_keeps_the_cores_once_a_heuristic_turn_gained_nothing() -> None:
    """Limit 6 s, patience 1.2 s: the heuristic (about 0.6 s), CP-SAT (1.2 s, nothing), the
    heuristic again (0.25 s, nothing), then CP-SAT to the end, not cut after 1.2 s (a turn
    would start its proof over)."""
    early, idle = _heuristic_and_cpsat(6.0)
    assert len(early.turns) == 2 and len(idle.turns) == 2
    (_, last), *_ = reversed(idle.turns)
    assert last >= 2.2


def test_auto_warms_up_every_part_that_has_a_warm_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its hook reaches the heuristic's kernels (the benchmark runner calls it before timing:
    auto's own tiny solves end on CP-SAT's schedule before the kernels are in)."""
    warmed: list[str] = []
    waited: list[float | None] = []
    monkeypatch.setattr(heuristics_solver, "kernels_ready", lambda until: waited.append(until))

    class Hooked:
        name = "hooked"

        def warm_up(self) -> None:
            warmed.append(self.name)

    auto = AutoSolver()
    auto.parts = [Hooked(), *auto.parts]  # type: ignore[list-item]
    auto.warm_up()
    assert warmed == ["hooked"] and waited == [None]  # the heuristic part waited, no limit
