"""`python -m scripts.start`: build the bundled sample catalog if there is none, then start the app.

With LAYERSCOPE_PUBLIC=1 it starts the app as Community Cloud runs it: through `deploy/streamlit_app.py`,
catalogs from `published/`, nothing built, no error details shown. Options it does not know go to
`streamlit run` as they are (`--server.port 8502`)."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from catalog import catalog_roots, find_catalogs
from catalog.paths import REPO_ROOT
from builder import BuildConfig
from core.errors import LayerScopeError
from scripts.build_catalog import run, summary_lines


def ensure_sample_catalog() -> None:
    if find_catalogs(catalog_roots()):
        return
    print("No catalog yet: building the bundled sample catalog (about a minute on 2 cores).")
    try:
        path, manifest = run(BuildConfig())
    except LayerScopeError as exc:
        sys.exit(f"error: {exc}")
    print("\n".join(summary_lines(path, manifest)))


def public_requested() -> bool:
    """The rule of app.settings.public_mode (scripts may not import app/): LAYERSCOPE_PUBLIC=1|true|yes|on."""
    return os.environ.get("LAYERSCOPE_PUBLIC", "").strip().lower() in {"1", "true", "yes", "on"}


def entrypoint() -> Path:
    return REPO_ROOT / ("deploy/streamlit_app.py" if public_requested() else "Home.py")


def parser() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        prog="python -m scripts.start", allow_abbrev=False,
        description="Build the bundled sample catalog if there is none (about a minute on 2 cores), "
                    "then start the LayerScope app.",
        epilog="Any other option goes to `streamlit run` unchanged, e.g. --server.port 8502 or "
               "--server.headless true. Environment: LAYERSCOPE_PUBLIC=1 starts public mode (catalogs "
               "from published/, nothing built); LAYERSCOPE_CATALOG_DIR sets where catalogs are found. "
               "README.md lists the rest.",
    )


def main() -> None:
    _, streamlit_args = parser().parse_known_args()
    if not public_requested():
        ensure_sample_catalog()
    command = [sys.executable, "-m", "streamlit", "run", str(entrypoint()), *streamlit_args]
    os.execv(sys.executable, command) if os.name == "posix" else sys.exit(subprocess.call(command))


if __name__ == "__main__":
    main()
