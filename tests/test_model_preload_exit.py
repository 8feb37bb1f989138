"""The Explorer loads the catalog's model in a background thread (app/state.preload_model). A process that
exits while that load is under way (a server stopped, a test run ending) must let it end first: the
interpreter stops daemon threads where they stand at its finalization, and one stopped inside torch
aborts the process ("terminate called without an active exception", exit code 134)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# An exit handler registered first runs last (atexit runs them in reverse): it sees the preload thread as
# the interpreter's finalization will.
EXIT_DURING_PRELOAD = """
import atexit, sys, threading, time
preloads = lambda: [t for t in threading.enumerate() if t.name == "layerscope-model-preload"]
atexit.register(lambda: print("at finalization:", "loading" if preloads() else "done", flush=True))
from app import state
state.preload_model(sys.argv[1])
state.map_drawn()
time.sleep(1.0)
print("at exit:", "loading" if preloads() else "done", flush=True)
"""


def test_a_process_exiting_while_the_model_preloads_lets_the_load_end_first(small_catalog):
    path, _ = small_catalog
    done = subprocess.run([sys.executable, "-c", EXIT_DURING_PRELOAD, str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["at exit: loading", "at finalization: done"], done.stdout
