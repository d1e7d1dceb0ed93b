"""Profiles for the scenario tests, built from the bundled `before` with a few fields changed."""

from __future__ import annotations

import copy
import json
from typing import Any

from scenarios.profile import Profile, bundled_text, parse_profile

QUIET = {"breakdowns": None, "breakdown_cut": 0.0, "planned_windows": None}
NO_DEFECTS = {"defect_rate": 0.0, "station_detection": 0.0, "final_detection": 0.0}
BUSY_BREAKDOWNS = {
    "time_between_failures": {"distribution": "weibull", "mean_hours": 0.1, "shape": 1.5},
    "repair_time": {"distribution": "lognormal", "mean_hours": 0.05, "cv": 0.8},
}


def before_data() -> dict[str, Any]:
    return json.loads(bundled_text("before"))


def profile(name: str, **sections: Any) -> Profile:
    """`before` renamed, with the given top-level sections replaced (None: removed)."""
    data = copy.deepcopy(before_data())
    data["name"] = name
    for key, value in sections.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return parse_profile(data, name)
