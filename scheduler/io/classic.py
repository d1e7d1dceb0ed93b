"""The classic benchmark text formats (DESIGN section 4): JSSP (`n m`, then per job m pairs
`machine time`, machines 0-based; also Taillard's `Times`/`Machines` layout) and FJSP `.fjs`
(Brandimarte/Hurink: `n m [avg]`, then per job `k` operations of `a` pairs `machine time`,
machines 1-based). Ids: jobs `J0..`, operations `J{j}-{k}`, machines `M0..` (JSSP) or `M1..`
(FJSP). Bad files raise InstanceError naming the line and the reason. A few files (e.g. orb07)
have an operation of 0 ticks; it is kept (it occupies no machine time, DESIGN section 11)."""

from __future__ import annotations

from pathlib import Path

from scheduler.core.errors import InstanceError
from scheduler.core.limits import quote
from scheduler.core.model import Instance, Job, Machine, Mode, Operation
from scheduler.io.text import read_text

_Token = tuple[str, int]  # (text, 1-based line number)
_Lines = list[tuple[list[str], int]]  # the words of each data line, with its line number
_Routes = list[list[tuple[int, int]]]  # per job, its (machine, time) steps in order


def read_jssp(path_or_text: str | Path, name: str | None = None) -> Instance:
    """A job-shop instance from a file path or the text itself; each operation has one mode."""
    text, label, stem = _source(path_or_text)
    lines = _data_lines(text)
    words = [[w.lower() for w in line] for line, _ in lines]
    m, routes = _taillard(lines, words, label) if ["times"] in words else _plain(lines, label)
    jobs = [[[step] for step in route] for route in routes]
    return _build(jobs, range(m), name or stem or "jssp", label)


def read_fjsp(path_or_text: str | Path, name: str | None = None) -> Instance:
    """A flexible job-shop instance (.fjs) from a file path or the text. With one line per
    job each line must hold exactly its job; otherwise jobs may wrap over lines."""
    text, label, stem = _source(path_or_text)
    lines = _data_lines(text)
    n, m = _header(lines, label)
    body = lines[1:]
    if len(body) == n:
        jobs = []
        for j, line in enumerate(body):
            tokens = _Tokens([line], label)
            jobs.append(_fjsp_job(tokens, j, m))
            tokens.expect_end(f"job {j}, which this line holds")
    else:
        tokens = _Tokens(body, label)
        jobs = [_fjsp_job(tokens, j, m) for j in range(n)]
        tokens.expect_end(f"the {n} jobs the header announces")
    return _build(jobs, range(1, m + 1), name or stem or "fjsp", label)


def _fjsp_job(tokens: _Tokens, j: int, m: int) -> list[list[tuple[int, int]]]:
    """Job j: `k`, then per operation `a` and a pairs `machine time` (machines 1..m)."""
    ops = []
    for k in range(tokens.integer(f"job {j}: number of operations", 1)):
        what = f"job {j}, operation {k}"
        n_modes = tokens.integer(f"{what}: number of machines", 1)
        ops.append(
            [
                (
                    tokens.machine(f"{what}: machine", 1, m),
                    tokens.integer(f"{what}: processing time", 0),
                )
                for _ in range(n_modes)
            ]
        )
    return ops


def _source(path_or_text: str | Path) -> tuple[str, str, str | None]:
    """(text, label for messages, file stem or None): a str with a line break is the text."""
    if isinstance(path_or_text, Path) or "\n" not in path_or_text:
        path = Path(path_or_text)
        return read_text(path), str(path), path.stem
    return path_or_text, "instance text", None


def _data_lines(text: str) -> _Lines:
    """Non-blank lines without `#` comments, split into words, with their line numbers."""
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split("#", 1)[0].split()
        if words:
            out.append((words, number))
    return out


def _header(lines: _Lines, label: str) -> tuple[int, int]:
    """`n m` (and anything after, e.g. the FJSP average machines per operation) from line one."""
    if not lines:
        raise InstanceError(f"{label}: empty file (expected a header line 'n m')")
    words, number = lines[0]
    if len(words) < 2:
        raise InstanceError(f"{label}: line {number}: expected a header 'n m', got {words}")
    header = _Tokens([(words[:2], number)], label)
    return header.integer("number of jobs", 1), header.integer("number of machines", 1)


def _plain(lines: _Lines, label: str) -> tuple[int, _Routes]:
    """(m, routes): jobs of m `machine time` pairs. With one line per job a short or long line
    is reported where it is; otherwise the numbers are read as one stream (wrapped jobs)."""
    n, m = _header(lines, label)
    body = lines[1:]
    if len(body) == n:
        for j, (words, number) in enumerate(body):
            if len(words) != 2 * m:
                raise InstanceError(
                    f"{label}: line {number}: job {j} has {len(words)} numbers, "
                    f"expected {2 * m} ({m} pairs 'machine time')"
                )
    tokens = _Tokens(body, label)
    routes = [
        [
            (
                tokens.machine(f"job {j}, operation {k}: machine", 0, m - 1),
                tokens.integer(f"job {j}, operation {k}: processing time", 0),
            )
            for k in range(m)
        ]
        for j in range(n)
    ]
    tokens.expect_end(f"the {n} jobs the header announces")
    return m, routes


def _taillard(lines: _Lines, words: list[list[str]], label: str) -> tuple[int, _Routes]:
    """(m, routes) from Taillard's layout: text headers, a numeric line `n m ...`, then `Times`
    (n lines of m times) and `Machines` (n lines of m 1-based machines, made 0-based)."""
    times_at = words.index(["times"])
    if ["machines"] not in words[times_at:]:
        raise InstanceError(f"{label}: a 'Times' section needs a 'Machines' section after it")
    machines_at = words.index(["machines"], times_at)
    numeric = [row for row in lines[:times_at] if all(w.isdigit() for w in row[0])]
    if not numeric:
        raise InstanceError(f"{label}: no line with the numbers 'n m' before 'Times'")
    n, m = _header(numeric, label)
    times = _Tokens(lines[times_at + 1 : machines_at], label)
    durations = [
        [times.integer(f"job {j}, operation {k}: time", 0) for k in range(m)] for j in range(n)
    ]
    times.expect_end("the n x m processing times")
    machines = _Tokens(lines[machines_at + 1 :], label)
    routes = [
        [
            (machines.machine(f"job {j}, operation {k}: machine", 1, m) - 1, durations[j][k])
            for k in range(m)
        ]
        for j in range(n)
    ]
    machines.expect_end("the n x m machines")
    return m, routes


class _Tokens:
    """The numbers of some lines as one stream, so errors can name the line of each."""

    def __init__(self, lines: _Lines, label: str) -> None:
        self._tokens: list[_Token] = [(w, number) for words, number in lines for w in words]
        self._label = label
        self._next = 0
        self._last_line = lines[-1][1] if lines else 1

    def integer(self, what: str, minimum: int | None) -> int:
        """The next token as an integer (>= minimum unless that is None)."""
        if self._next >= len(self._tokens):
            raise InstanceError(
                f"{self._label}: line {self._last_line}: data ends early (truncated), "
                f"missing {what}"
            )
        text, number = self._tokens[self._next]
        self._next += 1
        try:
            value = int(text)
        except ValueError:
            raise InstanceError(
                f"{self._label}: line {number}: {what}: expected an integer, got {quote(text)}"
            ) from None
        if minimum is not None and value < minimum:
            raise InstanceError(
                f"{self._label}: line {number}: {what}: expected an integer >= {minimum}, "
                f"got {value}"
            )
        return value

    def machine(self, what: str, low: int, high: int) -> int:
        """The next token as a machine number in low..high."""
        value = self.integer(what, None)
        if not low <= value <= high:
            number = self._tokens[self._next - 1][1]
            raise InstanceError(
                f"{self._label}: line {number}: {what} {value} is out of range {low}..{high}"
            )
        return value

    def expect_end(self, after: str) -> None:
        """Refuse numbers left over (the header's counts and the data disagree)."""
        if self._next < len(self._tokens):
            text, number = self._tokens[self._next]
            raise InstanceError(
                f"{self._label}: line {number}: unexpected data {quote(text)} after {after}"
            )


def _build(
    jobs: list[list[list[tuple[int, int]]]], machines: range, name: str, label: str
) -> Instance:
    """The Instance with the DESIGN ids; every machine the header names exists."""
    built = []
    for j, ops in enumerate(jobs):
        operations = tuple(
            Operation(f"J{j}-{k}", tuple(Mode(f"M{mc}", t) for mc, t in alternatives))
            for k, alternatives in enumerate(ops)
        )
        built.append(Job(f"J{j}", operations))
    return Instance(
        machines=tuple(Machine(f"M{i}") for i in machines), jobs=tuple(built), name=name
    )
