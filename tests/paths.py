"""Where the tests find the repository's files (instances, examples, benchmark scripts)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTANCES = ROOT / "benchmarks" / "instances"
