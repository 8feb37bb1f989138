"""Shared fixtures: one small real catalog, built once per test session."""
from __future__ import annotations

from pathlib import Path

import pytest

from builder import BuildConfig, NoProgress, build_catalog


@pytest.fixture(scope="session")
def small_catalog(tmp_path_factory) -> tuple[Path, dict]:
    """24 bundled images through EfficientNet-Lite0 with real weights; t-SNE at perplexities 3 and
    30, which is capped to 7 for 24 samples."""
    out = tmp_path_factory.mktemp("catalogs") / "lite0-sample-24"
    config = BuildConfig(dataset="sample", samples=24, perplexities=(3, 30), out=out, batch_size=8)
    return build_catalog(config, progress=NoProgress, log=lambda _: None)
