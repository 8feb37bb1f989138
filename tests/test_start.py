"""The README's run command builds the bundled catalog only when there is none."""
import shutil
import subprocess

import pytest

from scripts import start


def test_start_builds_the_sample_catalog_only_when_none_exists(small_catalog, tmp_path, monkeypatch,
                                                              catalog_dir_env):
    built = []
    monkeypatch.setattr(start, "run", lambda config: built.append(config) or (tmp_path, {}))
    monkeypatch.setattr(start, "summary_lines", lambda path, manifest: [])
    catalog_dir_env(tmp_path)
    (tmp_path / "half-built").mkdir()  # an incomplete folder is not a catalog
    start.ensure_sample_catalog()
    assert len(built) == 1
    assert built[0].dataset == "sample" and built[0].model == "efficientnet_lite0"
    assert built[0].target().parent == tmp_path
    shutil.copytree(small_catalog[0], tmp_path / "existing")
    start.ensure_sample_catalog()
    assert len(built) == 1


def test_help_names_its_own_options_and_builds_nothing(monkeypatch, capsys):
    built = []
    monkeypatch.setattr(start, "run", lambda config: built.append(config))
    monkeypatch.setattr(start.sys, "argv", ["start", "--help"])
    with pytest.raises(SystemExit) as exit_info:
        start.main()
    assert exit_info.value.code == 0
    shown = capsys.readouterr().out
    assert shown.startswith("usage: python -m scripts.start")
    assert "--server.port" in shown and "LAYERSCOPE_PUBLIC" in shown
    assert built == []


def test_streamlit_options_pass_through_unchanged(monkeypatch):
    started = []
    monkeypatch.setattr(start, "ensure_sample_catalog", lambda: None)
    monkeypatch.setattr(start.os, "execv", lambda exe, command: started.append(command))
    monkeypatch.setattr(start.sys, "argv", ["start", "--server.port", "8502", "--server.headless=true"])
    start.main()
    assert started[0][-3:] == ["--server.port", "8502", "--server.headless=true"]


def test_the_static_folders_exist_in_a_clone():
    """Streamlit looks for static/ beside the main script when it starts; a missing one logs a warning."""
    tracked = subprocess.run(["git", "ls-files", "static", "deploy/static"], cwd=start.REPO_ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
    assert tracked == ["deploy/static/.gitkeep", "static/.gitkeep"]
