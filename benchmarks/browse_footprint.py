"""What browsing costs a fresh server process: time to the first Home and Explorer, peak RSS, torch or not.

    python -m benchmarks.browse_footprint --catalog-dir DIR [--repo OTHER_CHECKOUT ...] [--json OUT]

For each checkout (default: this one) a fresh interpreter runs Home, the Explorer (a pinned sample, the
Neighbours, Selection, Compare and Export tabs) and SQL through AppTest over the catalogs in DIR, and
reports seconds from interpreter start to each page, its peak resident memory and whether torch was
imported. Compare a checkout from before a change with one after it, on the same machine and catalog.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def drive(repo: Path) -> dict:
    """Runs inside the fresh interpreter (cwd = repo)."""
    started = time.perf_counter()
    from streamlit.testing.v1 import AppTest

    def run(at):
        at.run()
        if at.exception:
            raise SystemExit(f"page failed: {[e.value for e in at.exception]}")
        return at

    marks = {}
    run(AppTest.from_file(str(repo / "Home.py"), default_timeout=300))
    marks["home_s"] = time.perf_counter() - started
    explorer = run(AppTest.from_file(str(repo / "pages" / "1_Explorer.py"), default_timeout=300))
    marks["explorer_s"] = time.perf_counter() - started
    explorer.session_state.pinned = 3
    run(explorer)
    for tab in ("Neighbours", "Selection", "Compare layers", "Export"):
        explorer.session_state["explorer_tab"] = tab
        explorer.session_state["selection_ids"] = [0, 1, 2, 3]
        run(explorer)
    run(AppTest.from_file(str(repo / "pages" / "2_SQL.py"), default_timeout=300))
    marks["browsed_s"] = time.perf_counter() - started
    marks["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    marks["torch_imported"] = "torch" in sys.modules
    return marks


def measure(repo: Path, catalog_dir: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(repo), "LAYERSCOPE_CATALOG_DIR": str(catalog_dir),
           "LAYERSCOPE_PUBLISHED_DIR": str(catalog_dir)}
    # the driver is loaded by file name so that every other import comes from the checkout measured
    code = ("import json, pathlib, runpy; drive = runpy.run_path(%r)['drive']; "
            "print(json.dumps(drive(pathlib.Path(%r))))" % (str(Path(__file__).resolve()), str(repo)))
    done = subprocess.run([sys.executable, "-c", code], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=1200)
    if done.returncode:
        raise SystemExit(f"{repo}: {done.stderr[-2000:]}")
    return {"repo": str(repo), **json.loads(done.stdout.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--catalog-dir", type=Path, required=True, help="a folder of catalogs (built or published)")
    parser.add_argument("--repo", type=Path, action="append", help="checkouts to compare (default: this one)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = [measure(Path(repo).resolve(), args.catalog_dir.resolve()) for repo in args.repo or [REPO]]
    for r in results:
        print(f"{r['repo']}: Home {r['home_s']:.1f} s, Explorer {r['explorer_s']:.1f} s, all pages "
              f"{r['browsed_s']:.1f} s after start; peak RSS {r['peak_rss_mb']:.0f} MB; torch imported: "
              f"{r['torch_imported']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
