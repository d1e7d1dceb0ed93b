"""The benchmark runner: suites of public instances with best-known values (`suites`), the
sweep over instances x solvers x seeds (`runner`, `settings`), per-run metrics (`metrics`), the
Markdown and plot report (`report`), and the `scheduler bench` sub-command (`cli`)."""
