"""The core of the domain: the model and its checks, the compiled arrays, schedules, the
independent validator, KPIs, objective terms, the solver protocol, registry and the facade."""
