"""The Cloud rehearsal passes on a small catalog: published into a fresh clone, served by the Cloud
entrypoint on one core, every page used in Chromium, peak memory under Cloud's largest allowance."""
from __future__ import annotations

import os
import subprocess

import pytest

from benchmarks.cloud_rehearsal import RehearsalFailed, publish_and_commit, rehearse
from harness.browser import CHROMIUM

pytestmark = pytest.mark.browser


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium at /usr/bin/chromium")
def test_the_rehearsal_passes_on_a_small_catalog(small_catalog, tmp_path):
    report = rehearse(small_catalog[0], cpu=0, max_rss_gb=2.0, workdir=tmp_path)
    assert report["peak_rss_mb"] <= 2000
    assert report["published"]["largest_mb"] <= 50
    assert {"home_s", "explorer_s", "hover_pin_s", "upload_s", "sql_s", "about_s"} <= report["steps"].keys()
    clone = tmp_path / "repo"
    status = subprocess.run(["git", "-C", str(clone), "status", "--porcelain", "published"], capture_output=True,
                            text=True, check=True).stdout
    assert status == ""  # what the app served is what was committed


def test_a_catalog_with_a_file_over_the_cap_is_refused_before_deploying(small_catalog, tmp_path, monkeypatch):
    import benchmarks.cloud_rehearsal as rehearsal
    clone = tmp_path / "clone"
    subprocess.run(["git", "init", "--quiet", str(clone)], check=True)
    monkeypatch.setattr(rehearsal, "MAX_FILE_BYTES", 1000)  # the commit check is stricter than publish's cap
    with pytest.raises(RehearsalFailed, match="committed files over 1000 bytes"):
        publish_and_commit(small_catalog[0], clone)
