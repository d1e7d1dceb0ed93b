"""Where the tests find the repository's files (instances, examples, benchmark scripts)."""

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
INSTANCES = ROOT / "benchmarks" / "instances"


def benchmark_script(name: str) -> ModuleType:
    """benchmarks/`name`.py, a script beside the data (not an installed module)."""
    path = ROOT / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def plant_generator() -> ModuleType:
    """benchmarks/generate_plant.py."""
    return benchmark_script("generate_plant")


def fjsp_generator() -> ModuleType:
    """benchmarks/generate_fjsp.py."""
    return benchmark_script("generate_fjsp")
