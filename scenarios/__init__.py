"""Before and after AI adoption, simulated: adoption profiles as data (`profile`), the plan
each makes (`plan`), its execution under common random disruptions (`draws`, `kernel`,
`simulate`, `replan`), the KPIs (`kpis`), the comparison with intervals (`compare`, `stats`)
and what a person reads (`report`, `cli`: `scheduler scenario`)."""
