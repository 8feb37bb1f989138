"""An operator finds every setting the app reads in README's "Running it for others"."""
from __future__ import annotations

import re

from tests.paths import REPO

CODE = ["Home.py", "pages", "app", "catalog", "core", "builder", "scripts", "deploy"]
SETTING = re.compile(r"LAYERSCOPE_[A-Z0-9_]*[A-Z0-9]\b")


def _settings_read_by_the_code() -> set[str]:
    found = set()
    for entry in CODE:
        path = REPO / entry
        for file in [path] if path.is_file() else sorted(path.rglob("*.py")):
            found |= set(SETTING.findall(file.read_text()))
    return found


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    following = text.find("\n## ", start + len(heading))
    return text[start:following if following != -1 else len(text)]


def test_every_environment_setting_is_named_where_an_operator_looks():
    settings = _settings_read_by_the_code()
    assert {"LAYERSCOPE_PUBLIC", "LAYERSCOPE_SQL_WORKERS", "LAYERSCOPE_SQL_RESULTS_MB"} <= settings
    running = _section((REPO / "README.md").read_text(), "## Running it for others")
    assert sorted(s for s in settings if f"`{s}" not in running) == []
