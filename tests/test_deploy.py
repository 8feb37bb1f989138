"""The Community Cloud recipe: its dependency file matches the local pins, with CPU-only torch."""
from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line.strip())
        if match:
            found[match[1].lower()] = match[2]
    return found


def test_cloud_requirements_pin_the_same_versions_with_cpu_only_torch():
    local, cloud = pins(REPO / "requirements.txt"), pins(REPO / "deploy" / "requirements.txt")
    assert cloud.keys() == local.keys()
    for package in ("torch", "torchvision"):
        assert cloud[package] == local[package] + "+cpu"
    assert {k: v for k, v in cloud.items() if k not in ("torch", "torchvision")} == \
        {k: v for k, v in local.items() if k not in ("torch", "torchvision")}
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in (REPO / "deploy" / "requirements.txt").read_text()


def test_cloud_finds_its_own_dependency_file_first():
    """Cloud searches the entrypoint's folder before the root, in this order: no other file may shadow it."""
    folder = REPO / "deploy"
    assert (folder / "streamlit_app.py").is_file() and (folder / "requirements.txt").is_file()
    for earlier in ("uv.lock", "Pipfile", "environment.yml"):
        assert not (folder / earlier).exists()
