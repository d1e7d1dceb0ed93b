"""Taillard's job-shop instances, rebuilt from their published seeds (Taillard 1993, "Benchmarks
for basic scheduling problems"), for a held-back check on the sizes `benchmarks/instances/`
does not ship: ta51-ta60 (50x15), ta61-ta70 (50x20) and ta71-ta80 (100x20).

Writes `OUT/jssp/taNN.txt` (the shipped `.txt` layout) and `OUT/bks.csv` with the bounds
known today, so that `scheduler bench --instances-root OUT --suite ta` measures gaps on them:

    python benchmarks/generate_taillard.py --out /tmp/held --select ta51-ta60,ta71-ta75

The generator is checked against the shipped ta01-ta50 (`tests/benchmarks`).
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from pathlib import Path

# (jobs, machines, [(time seed, machine seed)]) for ta01-ta80, ten instances per size
SIZES: tuple[tuple[int, int, tuple[tuple[int, int], ...]], ...] = (
    (15, 15, ((840612802, 398197754), (1314640371, 386720536), (1227221349, 316176388),
              (342269428, 1806358582), (1603221416, 1501949241), (1357584978, 1734077082),
              (44531661, 1374316395), (302545136, 2092186050), (1153780144, 1393392374),
              (73896786, 1544979948))),
    (20, 15, ((533484900, 317419073), (1894307698, 1474268163), (874340513, 509669280),
              (1124986343, 1209573668), (1463788335, 529048107), (1056908795, 25321885),
              (195672285, 1717580117), (961965583, 1353003786), (1610169733, 1734469503),
              (532794656, 998486810))),
    (20, 20, ((1035939303, 773961798), (5997802, 1872541150), (1357503601, 722225039),
              (806159563, 1166962073), (1902815253, 1879990068), (1503184031, 1850351876),
              (1032645967, 99711329), (229894219, 1158117804), (823349822, 108033225),
              (1297900341, 489486403))),
    (30, 15, ((98640593, 1981283465), (1839268120, 248890888), (573875290, 2081512253),
              (1670898570, 788294565), (1118914567, 1074349202), (178750207, 294279708),
              (1549372605, 596993084), (798174738, 151685779), (553410952, 1329272528),
              (1661531649, 1173386294))),
    (30, 20, ((1841414609, 1357882888), (2116959593, 1546338557), (796392706, 1230864158),
              (532496463, 254174057), (2020525633, 978943053), (524444252, 185526083),
              (1569394691, 487269855), (1460267840, 1631446539), (198324822, 1937476577),
              (38071822, 1541985579))),
    (50, 15, ((17271, 718939), (660481279, 449650254), (352229765, 949737911),
              (1197518780, 166840558), (1376020303, 483922052), (2106639239, 955932362),
              (1765352082, 1209982549), (1105092880, 1349003108), (907248070, 919544535),
              (2011630757, 1845447001))),
    (50, 20, ((8493988, 2738939), (1991925010, 709517751), (342093237, 786960785),
              (1634043183, 973178279), (341706507, 286513148), (320167954, 1411193018),
              (1089696753, 298068750), (433032965, 1589656152), (615974477, 331205412),
              (236150141, 592292984))),
    (100, 20, ((302034063, 1203569070), (1437643198, 1692025209), (1792475497, 1039908559),
               (1647273132, 1012841433), (696480901, 1689682358), (1785569423, 1092647459),
               (117806902, 739059626), (1639154709, 1319962509), (2007423389, 749368241),
               (682761130, 262763021))),
)  # fmt: skip

# The optima of the sizes not shipped (ScheduleOpt/benchmarks@22aba6e, jobshop/solutions/bks.json)
OPTIMA: dict[str, int] = {  # all closed: lower bound = best known
    "ta51": 2760, "ta52": 2756, "ta53": 2717, "ta54": 2839, "ta55": 2679,
    "ta56": 2781, "ta57": 2943, "ta58": 2885, "ta59": 2655, "ta60": 2723,
    "ta61": 2868, "ta62": 2869, "ta63": 2755, "ta64": 2702, "ta65": 2725,
    "ta66": 2845, "ta67": 2825, "ta68": 2784, "ta69": 3071, "ta70": 2995,
    "ta71": 5464, "ta72": 5181, "ta73": 5568, "ta74": 5339, "ta75": 5392,
    "ta76": 5342, "ta77": 5436, "ta78": 5394, "ta79": 5358, "ta80": 5183,
}  # fmt: skip

SOURCE = "generated from Taillard's seeds; optimum: ScheduleOpt/benchmarks@22aba6e bks.json"


class Lehmer:
    """Taillard's random stream: the minimal standard generator (Park and Miller), scaled."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def uniform(self, low: int, high: int) -> int:
        """The next integer in [low, high]."""
        k = self.seed // 127773
        self.seed = 16807 * (self.seed % 127773) - k * 2836
        if self.seed < 0:
            self.seed += 2147483647
        return low + int(self.seed / 2147483647 * (high - low + 1))


def taillard(number: int) -> list[list[tuple[int, int]]]:
    """Instance ta`number` (1-80): per job, its operations as (machine, duration), machines
    from 0."""
    if not 1 <= number <= 10 * len(SIZES):
        raise ValueError(f"ta{number:02d}: Taillard's job shops are ta01-ta{10 * len(SIZES)}")
    n_jobs, n_machines, seeds = SIZES[(number - 1) // 10]
    time_seed, machine_seed = seeds[(number - 1) % 10]
    times, order = Lehmer(time_seed), Lehmer(machine_seed)
    durations = [[times.uniform(1, 99) for _ in range(n_machines)] for _ in range(n_jobs)]
    routes = []
    for _ in range(n_jobs):
        route = list(range(n_machines))
        for k in range(n_machines):
            other = order.uniform(k + 1, n_machines) - 1
            route[k], route[other] = route[other], route[k]
        routes.append(route)
    jobs = zip(routes, durations, strict=True)
    return [list(zip(route, row, strict=True)) for route, row in jobs]


def text(number: int) -> str:
    """Instance ta`number` in the shipped `.txt` layout: "jobs machines", then a line per job
    of machine-duration pairs."""
    ops = taillard(number)
    lines = [f"{len(ops)} {len(ops[0])}"]
    lines += [" ".join(f"{m} {d}" for m, d in job) for job in ops]
    return "\n".join(lines) + "\n"


def numbers(select: str) -> list[int]:
    """The instance numbers of a selection: "ta51-ta60,ta71" -> [51, ..., 60, 71]."""
    out: list[int] = []
    for part in select.split(","):
        found = re.fullmatch(r"\s*ta(\d+)(?:-ta(\d+))?\s*", part)
        if found is None:
            raise ValueError(f"{part!r} is not taNN or taNN-taMM")
        lo = int(found[1])
        out += range(lo, int(found[2] or lo) + 1)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="folder for jssp/ and bks.csv")
    ap.add_argument("--select", default="ta51-ta60,ta71-ta80", help="e.g. ta51-ta60,ta71")
    args = ap.parse_args(argv)
    try:
        chosen = numbers(args.select)
        files = {n: text(n) for n in chosen}
    except ValueError as exc:
        print(f"error: --select: {exc}", file=sys.stderr)
        return 2
    (args.out / "jssp").mkdir(parents=True, exist_ok=True)
    rows = []
    for n, body in files.items():
        name = f"ta{n:02d}"
        (args.out / "jssp" / f"{name}.txt").write_text(body)
        n_jobs, n_machines, _ = SIZES[(n - 1) // 10]
        best = OPTIMA.get(name, "")
        rows.append(["jssp", name, n_jobs, n_machines, best, best, best, SOURCE])
    with open(args.out / "bks.csv", "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["family", "name", "n_jobs", "n_machines", "optimum", "lower_bound",
                      "upper_bound", "source"])  # fmt: skip
        out.writerows(rows)
    print(f"wrote {len(rows)} instances to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
