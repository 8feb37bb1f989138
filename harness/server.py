"""A Streamlit server of this checkout on a free port, started and always stopped: the browser tests and
the browser benchmarks serve the app through it."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(log_path: Path, env: dict[str, str], script: Path | None = None):
    """`streamlit run Home.py` (or `script`, from its folder) on a free port with `env` added to the
    environment (the catalog folder, caches); yields (url, process); always terminates it."""
    port = free_port()
    env = {**os.environ, **env}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "w")
    main = script.name if script else "Home.py"
    process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", main, "--server.headless", "true",
                                "--server.port", str(port), "--browser.gatherUsageStats", "false"],
                               cwd=script.parent if script else REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if process.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"streamlit did not start; see {log_path}")
            time.sleep(0.3)
        yield url, process
    finally:
        stop(process)
        log.close()


def stop(process: subprocess.Popen, timeout: float = 10) -> None:
    """Terminate a server, killing it if it has not gone after `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
