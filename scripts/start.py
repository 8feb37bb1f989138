"""`python -m scripts.start`: build the bundled sample catalog if there is none, then start the app."""
from __future__ import annotations

import os
import subprocess
import sys

from catalog import default_root, find_catalogs
from catalog.paths import REPO_ROOT
from builder import BuildConfig
from core.errors import LayerScopeError
from scripts.build_catalog import run, summary_lines


def ensure_sample_catalog() -> None:
    if find_catalogs(default_root()):
        return
    print("No catalog yet: building the bundled sample catalog (about 2 minutes on 2 cores).")
    try:
        path, manifest = run(BuildConfig())
    except LayerScopeError as exc:
        sys.exit(f"error: {exc}")
    print("\n".join(summary_lines(path, manifest)))


def main() -> None:
    ensure_sample_catalog()
    command = [sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "Home.py"), *sys.argv[1:]]
    os.execv(sys.executable, command) if os.name == "posix" else sys.exit(subprocess.call(command))


if __name__ == "__main__":
    main()
