"""`python -m scripts.start`: build the bundled sample catalog if there is none, then start the app.

With LAYERSCOPE_PUBLIC=1 it starts the app as Community Cloud runs it: through `deploy/streamlit_app.py`,
catalogs from `published/`, nothing built, no error details shown."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from catalog import default_root, find_catalogs
from catalog.paths import REPO_ROOT
from builder import BuildConfig
from core.errors import LayerScopeError
from scripts.build_catalog import run, summary_lines


def ensure_sample_catalog() -> None:
    if find_catalogs(default_root()):
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


def main() -> None:
    if not public_requested():
        ensure_sample_catalog()
    command = [sys.executable, "-m", "streamlit", "run", str(entrypoint()), *sys.argv[1:]]
    os.execv(sys.executable, command) if os.name == "posix" else sys.exit(subprocess.call(command))


if __name__ == "__main__":
    main()
