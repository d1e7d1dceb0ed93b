"""Benchmark instance sets: named suites over the shipped instances (`benchmarks/instances/`),
file globs, name filters, and the best-known values of `bks.csv` that gaps are measured against."""

from __future__ import annotations

import csv
import fnmatch
import glob
import os
import re
from dataclasses import dataclass
from pathlib import Path

ROOT_ENV = "SCHEDULER_BENCH_INSTANCES"
SUFFIXES = (".txt", ".fjs", ".json")

# suite name -> (folder under the instances root, instance-name pattern)
SUITES: dict[str, tuple[str, str]] = {
    "ft": ("jssp", r"ft\d+"),
    "la": ("jssp", r"la\d+"),
    "ta": ("jssp", r"ta\d+"),
    "abz": ("jssp", r"abz\d+"),
    "orb": ("jssp", r"orb\d+"),
    "swv": ("jssp", r"swv\d+"),
    "yn": ("jssp", r"yn\d+"),
    "mk": ("fjsp/brandimarte", r"mk\d+"),
    "hurink-sdata": ("fjsp/hurink_sdata", r".+"),
    "hurink-edata": ("fjsp/hurink_edata", r".+"),
    "hurink-rdata": ("fjsp/hurink_rdata", r".+"),
    "hurink-vdata": ("fjsp/hurink_vdata", r".+"),
    "kacem": ("fjsp/kacem", r".+"),
    "dauzere": ("fjsp/dauzere", r".+"),
    "barnes": ("fjsp/barnes", r".+"),
    "fattahi": ("fjsp/fattahi", r".+"),
    "energy": ("energy", r".+"),
}


class BenchInputError(ValueError):
    """An unknown suite, an empty selection or an unreadable bks.csv (CLI exit code 2)."""


@dataclass(frozen=True)
class Reference:
    """Best-known values of an instance for one objective: the best known solution value
    (`best_known`), the best lower bound, and the optimum when the instance is closed."""

    best_known: float | None
    lower_bound: float | None
    optimum: float | None
    objective: str = "makespan"


@dataclass(frozen=True)
class BenchInstance:
    """One instance file of a run: its suite, name, family folder and reference values."""

    suite: str
    name: str
    family: str
    path: str
    reference: Reference | None


def default_root() -> Path:
    """`$SCHEDULER_BENCH_INSTANCES`, else the instance sets shipped with the package (package
    data, so an installed wheel finds them too; `benchmarks/instances` links to them)."""
    env = os.environ.get(ROOT_ENV)
    return Path(env) if env else Path(__file__).resolve().parent / "instances"


def natural_key(text: str) -> tuple[object, ...]:
    """Sort key that orders la2 before la10."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text))


def read_references(root: Path) -> dict[tuple[str, str], Reference]:
    """(family, name) -> Reference from `root/bks.csv` (empty when the file is absent).
    Rows without an `objective` column are makespan values."""
    path = root / "bks.csv"
    if not path.exists():
        return {}
    table: dict[tuple[str, str], Reference] = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            try:
                table[(row["family"], row["name"])] = Reference(
                    best_known=_number(row.get("upper_bound")),
                    lower_bound=_number(row.get("lower_bound")),
                    optimum=_number(row.get("optimum")),
                    objective=(row.get("objective") or "makespan").strip(),
                )
            except (KeyError, ValueError) as error:
                raise BenchInputError(f"{path}: bad row {row}: {error}") from None
    return table


def _number(text: str | None) -> float | None:
    return float(text) if text not in (None, "") else None


def suite_instances(
    name: str, root: Path, references: dict[tuple[str, str], Reference]
) -> list[BenchInstance]:
    """The instance files of a named suite, in natural name order."""
    if name not in SUITES:
        raise BenchInputError(f"unknown suite {name!r} (known: {', '.join(SUITES)})")
    family, pattern = SUITES[name]
    folder = root / family
    files = [
        p
        for p in (sorted(folder.iterdir()) if folder.is_dir() else [])
        if p.suffix in SUFFIXES and re.fullmatch(pattern, p.stem)
    ]
    if not files:
        raise BenchInputError(f"suite {name!r} has no instances under {folder}")
    found = [
        BenchInstance(name, p.stem, family, str(p), references.get((family, p.stem))) for p in files
    ]
    return sorted(found, key=lambda i: natural_key(i.name))


def glob_instances(
    pattern: str, root: Path, references: dict[tuple[str, str], Reference]
) -> list[BenchInstance]:
    """Instance files matching a glob, their suite named by their folder (`jssp`, or the path
    under `root`); reference values when the file lies under `root`."""
    paths = sorted(p for p in glob.glob(pattern, recursive=True) if Path(p).suffix in SUFFIXES)
    if not paths:
        raise BenchInputError(f"no instance files match {pattern!r}")
    found = []
    for text in paths:
        path = Path(text).resolve()
        try:
            family = path.parent.relative_to(root.resolve()).as_posix()
        except ValueError:
            family = path.parent.name
        reference = references.get((family, path.stem))
        found.append(BenchInstance(family, path.stem, family, str(path), reference))
    return found


def select(instances: list[BenchInstance], patterns: str | None) -> list[BenchInstance]:
    """Keep instances whose name matches one of the comma-separated patterns: a glob (`la0*`)
    or an inclusive range of equally prefixed names (`ta01-ta30`)."""
    if not patterns:
        return instances
    kept = [i for i in instances if any(_matches(i.name, p.strip()) for p in patterns.split(","))]
    if not kept:
        raise BenchInputError(f"--select {patterns!r} keeps none of the instances")
    return kept


def _matches(name: str, pattern: str) -> bool:
    """Whether `name` matches a glob or a `prefixN-prefixM` range."""
    ranged = re.fullmatch(r"([A-Za-z_]*)(\d+)-([A-Za-z_]*)(\d+)", pattern)
    if ranged and ranged.group(1) == ranged.group(3):
        found = re.fullmatch(rf"{re.escape(ranged.group(1))}(\d+)", name)
        if found is None:
            return False
        return int(ranged.group(2)) <= int(found.group(1)) <= int(ranged.group(4))
    return fnmatch.fnmatchcase(name, pattern)


def resolve(
    suites: str | None, instances_glob: str | None, selection: str | None, root: Path
) -> list[BenchInstance]:
    """Every instance of the comma-separated suites plus the glob, filtered by `selection`."""
    references = read_references(root)
    found: list[BenchInstance] = []
    for name in [s.strip() for s in (suites or "").split(",") if s.strip()]:
        found += suite_instances(name, root, references)
    if instances_glob:
        found += glob_instances(instances_glob, root, references)
    if not found:
        raise BenchInputError("give --suite NAME[,NAME...] and/or --instances GLOB")
    return select(found, selection)


def suite_sizes(root: Path) -> dict[str, int]:
    """How many instance files each suite has under `root` (0 where absent)."""
    sizes = {}
    for name in SUITES:
        try:
            sizes[name] = len(suite_instances(name, root, {}))
        except BenchInputError:
            sizes[name] = 0
    return sizes
