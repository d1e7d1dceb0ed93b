"""`python -m scheduler`: the same command line as the `scheduler` console script."""

from scheduler.cli import run

run()
