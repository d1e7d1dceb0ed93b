"""`python -m scheduler`: the same command line as the `scheduler` console script."""

from scheduler.cli import main

raise SystemExit(main())
