"""An outside solver plugged into prodsched through the `scheduler.solvers` entry point: it
runs the operations one at a time in precedence order, each in its first mode, as early as its
release, predecessors and lags allow. Always valid for what it declares, never clever."""

from __future__ import annotations

import time

import numpy as np

from scheduler.core.compile import CompiledInstance
from scheduler.core.protocol import Capabilities, SolveConfig, check_supported
from scheduler.core.result import Result
from scheduler.core.schedule import Schedule


class SerialSolver:
    """One operation at a time, in precedence order (a plug-in example)."""

    name = "serial"
    capabilities = Capabilities(
        features=frozenset({"alternative_modes", "precedence_lags", "releases"}),
        terms=frozenset({"makespan"}),
        lexicographic=False,
        weighted_sums=False,
    )

    def solve(self, compiled: CompiledInstance, config: SolveConfig) -> Result:
        check_supported(self, compiled, config)  # refuse what is not declared
        started = time.perf_counter()
        c = compiled
        mode = c.mode_ptr[:-1].copy()  # the first mode of every operation
        start = np.zeros(c.n_ops, dtype=np.int64)
        clock = 0  # the end of the previous operation: nothing ever overlaps
        for o in c.topo_order:
            preds = range(c.pred_ptr[o], c.pred_ptr[o + 1])
            ready = [c.op_release[o], clock]
            ready += [
                start[c.pred_op[i]] + c.mode_duration[mode[c.pred_op[i]]] + c.pred_lag[i]
                for i in preds
            ]
            start[o] = max(ready)
            clock = start[o] + c.mode_duration[mode[o]]
        weight = config.objective.levels[0][0][1]  # makespan=W scales the value
        makespan = float((start + c.mode_duration[mode]).max())
        return Result(
            "feasible",
            self.name,
            schedule=Schedule.from_arrays(c, mode, start),
            objective=weight * makespan,
            objectives=[weight * makespan],
            wall_time_s=time.perf_counter() - started,
        )
