"""The JSON instance example of DESIGN section 4, read from DESIGN.md so the tests check the
documented contract itself."""

from __future__ import annotations

import json
import re
from typing import Any

from paths import ROOT


def design_example() -> dict[str, Any]:
    """A fresh copy of the first ```json block of DESIGN.md."""
    text = (ROOT / "DESIGN.md").read_text(encoding="utf-8")
    match = re.search(r"```json\n(.*?)```", text, re.S)
    assert match, "DESIGN.md has no ```json example"
    return json.loads(match.group(1))
