"""The re-optimising policy: at each breakdown that hits a machine with work left, the plant
re-plans what is left with `scheduler.replan.reschedule`, knowing only the past (actual
durations of what started, the reworks already found, the breakdowns so far) and the new
breakdown as a `machine_down` event; the shop floor then executes the new plan (right-shift,
`scenarios.kernel`) until the next breakdown. When the solver finds no schedule in its
budget, the plant right-shifts the old plan instead (`reschedule`'s shifted plan); `replans`
counts only the re-plans the solver made."""

from __future__ import annotations

import time

import numpy as np

from scenarios.draws import actual_durations, breakdown_windows, draw, multipliers
from scenarios.executed import REWORK_SUFFIX, executed_instance_and_schedule
from scenarios.kernel import execute
from scenarios.plan import ScenarioError, refused
from scenarios.simulate import Execution, Prepared, plan_order, quality
from scheduler.core.compile import CompiledInstance, compile_instance
from scheduler.core.errors import UnsupportedFeatureError
from scheduler.replan import MachineDown, reschedule

REPLAN_SECONDS: list[float] = []  # wall time of every re-plan made in this process
Run = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # start, end, rework start, end


class _Replication:
    """One replication's draws, applied to whichever instance the current plan is on (the
    first plan's, or a re-plan's, whose operations are the first plan's and rework copies)."""

    def __init__(self, prep: Prepared, seed: np.random.SeedSequence) -> None:
        base = prep.compiled
        blocks, reach = 1, 4 * max(prep.makespan, 1)
        while True:
            draws = draw(seed, base, blocks)
            ptr, dstart, dend, covered = breakdown_windows(
                prep.profile, draws, prep.ticks_per_hour, reach
            )
            if covered:
                break
            blocks += 1
        self.down = ptr, dstart, dend
        self.mult = multipliers(prep.profile.processing_cv, draws.dur_z)
        self.rework_mult = multipliers(prep.profile.processing_cv, draws.rework_z)
        caught, self.scrapped, self.escaped = quality(
            prep, draws, actual_durations(base.mode_duration[prep.mode], self.mult)
        )
        self.caught = {base.op_ids[o] for o in np.flatnonzero(caught)}
        self.index = base.op_index
        # nominal duration of each first-plan operation by (machine, power) of a mode
        self.nominal = {
            (int(base.mode_op[k]), int(base.mode_machine[k]), float(base.mode_power[k])): int(
                base.mode_duration[k]
            )
            for k in range(base.n_modes)
        }
        self.planned = {base.op_ids[o]: int(prep.start[o]) for o in range(base.n_ops)}
        self.planned_machine = {base.op_ids[o]: int(prep.machine[o]) for o in range(base.n_ops)}

    def _before(self, at: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The breakdowns that started before `at`, CSR by machine."""
        ptr, start, end = self.down
        keep = start < at
        counts = [int(keep[ptr[m] : ptr[m + 1]].sum()) for m in range(ptr.size - 1)]
        return np.concatenate(([0], np.cumsum(counts))).astype(np.int64), start[keep], end[keep]

    def run(
        self,
        c: CompiledInstance,
        mode: np.ndarray,
        start: np.ndarray,
        frozen: np.ndarray,
        seen: tuple[int, Run] | None = None,
    ) -> tuple[Run, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Execute the plan (mode, start) of `c`: as it happens, or with `seen` = (at, the
        real run) as the planner sees it at `at` (actual durations only for what started,
        reworks only for what ended, breakdowns only from before `at`). Returns the run and
        the breakdown windows it used."""
        n = c.n_ops
        machine = c.mode_machine[mode]
        dur = c.mode_duration[mode].copy()
        rdur = dur.copy()
        rework = np.zeros(n, dtype=np.bool_)
        for o in range(n):
            name = c.op_ids[o]
            copy = name.endswith(REWORK_SUFFIX)
            k = self.index[name[: -len(REWORK_SUFFIX)] if copy else name]
            nominal = self.nominal.get((k, int(machine[o]), float(c.mode_power[mode[o]])), dur[o])
            one = np.array([nominal])
            if not frozen[o]:
                factor = self.rework_mult[k] if copy else self.mult[k]
                dur[o] = actual_durations(one, np.array([factor]))[0]
            rdur[o] = actual_durations(one, np.array([self.rework_mult[k]]))[0]
            own_copy = name + REWORK_SUFFIX in c.op_index
            rework[o] = not copy and not own_copy and name in self.caught and dur[o] > 0
            if seen is not None and not frozen[o] and seen[1][0][o] >= seen[0]:
                dur[o] = nominal  # not started yet: the planner knows the nominal time
        down = self.down if seen is None else self._before(seen[0])
        if seen is not None:
            rework &= seen[1][1] <= seen[0]
        result = execute(
            plan_order(c, start), machine, start, dur, c.op_family, c.op_release, frozen,
            c.pred_ptr, c.pred_op, c.pred_lag, c.setup, c.n_machines,
            c.unav_ptr, c.unav_start, c.unav_end, *down, rework, rdur,
        )  # fmt: skip
        return result, down

    def execution(
        self,
        c: CompiledInstance,
        mode: np.ndarray,
        run: Run,
        down: tuple[np.ndarray, np.ndarray, np.ndarray],
        replans: int,
    ) -> Execution:
        """The Execution of a run, measured against the first plan (copies: not measured)."""
        planned = np.array([self.planned.get(o, -1) for o in c.op_ids], dtype=np.int64)
        machine = np.array([self.planned_machine.get(o, -1) for o in c.op_ids], dtype=np.int64)
        return Execution(
            compiled=c, mode=mode, start=run[0], end=run[1], rstart=run[2], rend=run[3],
            down_ptr=down[0], down_start=down[1], down_end=down[2], planned_start=planned,
            planned_machine=machine, scrapped=self.scrapped, escaped=self.escaped,
            replans=replans,
        )  # fmt: skip


def run_reoptimized(prep: Prepared, seed: np.random.SeedSequence) -> Execution:
    """Execute the plan, re-planning at each breakdown that finds work left on its machine."""
    spec = prep.profile.rescheduling
    objective = spec.objective or prep.profile.scheduling.objective
    rep = _Replication(prep, seed)
    c, mode, start = prep.compiled, prep.mode, prep.start
    frozen = np.zeros(c.n_ops, dtype=np.bool_)
    real, down = rep.run(c, mode, start, frozen)
    ptr, dstart, dend = rep.down
    breakdowns = sorted(
        (int(dstart[i]), int(dend[i]), m)
        for m in range(c.n_machines)
        for i in range(int(ptr[m]), int(ptr[m + 1]))
    )
    replans = 0
    for at, until, m in breakdowns:
        busy = (c.mode_machine[mode] == m) & (real[1] > at) & (real[1] > real[0])
        if not busy.any():
            continue  # no work left on the machine: nothing to re-plan
        seen, seen_down = rep.run(c, mode, start, frozen, (at, real))
        instance, schedule = executed_instance_and_schedule(
            rep.execution(c, mode, seen, seen_down, replans)
        )
        began = time.perf_counter()
        try:
            new = reschedule(
                instance, schedule, at, [MachineDown(c.machine_ids[m], at, until)],
                solver=spec.solver, objective=objective, stability=spec.stability,
                policy="reoptimize", time_limit=spec.time_limit, workers=1,
                seed=int(seed.generate_state(1)[0]), **spec.options,
            )  # fmt: skip
        except UnsupportedFeatureError as refusal:
            raise ScenarioError(refused(prep.profile, "rescheduling", refusal)) from None
        REPLAN_SECONDS.append(time.perf_counter() - began)
        plan = new.schedule if new.schedule is not None else new.shifted
        if plan is None:  # neither a re-plan nor a right shift: run on with the old plan
            continue
        replans += new.schedule is not None
        c = compile_instance(new.instance)
        mode, start = plan.to_arrays(c)
        frozen = np.array([o in new.kept for o in c.op_ids], dtype=np.bool_)
        real, down = rep.run(c, mode, start, frozen)
    return rep.execution(c, mode, real, down, replans)
