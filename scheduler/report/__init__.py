"""What a person reads: Gantt charts (`plot`), explanations of infeasibility (`explain`) and
trade-off curves (`pareto`). Imported on demand, since plotting loads matplotlib."""
