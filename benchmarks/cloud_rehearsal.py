"""A Community Cloud rehearsal on this machine: what a deployment does, under Cloud's limits.

    python -m benchmarks.cloud_rehearsal [CATALOG] [--cpu 0] [--max-rss-gb 2.0] [--json OUT] [--keep]

1. clones the committed repository into a fresh folder, publishes CATALOG into its `published/` and
   commits it there (every committed file <= 50 MB, no absolute path of this machine);
2. starts the app as Cloud does: from the clone's root, `streamlit run deploy/streamlit_app.py` (public
   mode comes from the entrypoint), pinned to one CPU core with taskset, no LAYERSCOPE_* settings;
3. samples the server's resident memory (children included) all along;
4. in headless Chromium: Home, the Explorer (hover a point, pin it, upload one image), SQL (one query)
   and About;
5. fails on any error shown on a page, a traceback in the server log, or a peak RSS over the limit.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from catalog import load_manifest
from catalog.paths import REPO_ROOT, default_root
from catalog.publish import MAX_FILE_BYTES, find_leaks, publish
from core.errors import LayerScopeError
from harness.browser import CHROMIUM, CHROMIUM_ARGS, hover_point, inspector_id, point_positions
from harness.rss import RssSampler, tree_rss_mb
from harness.server import free_port, stop

ENTRYPOINT = "deploy/streamlit_app.py"
UPLOAD_IMAGE = REPO_ROOT / "data" / "sample" / "n01440764_tench.jpg"
ERRORS_JS = "() => document.querySelectorAll('[data-testid=\"stException\"], .stException').length"


class RehearsalFailed(Exception):
    pass


def fresh_clone(repo: Path, into: Path) -> Path:
    """The committed state of `repo` (what GitHub would hold), not its working tree."""
    clone = into / "repo"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(repo), str(clone)], check=True)
    return clone


def publish_and_commit(catalog: Path, clone: Path) -> dict:
    result = publish(catalog, root=clone / "published")
    git = ["git", "-C", str(clone), "-c", "user.name=rehearsal", "-c", "user.email=rehearsal@localhost"]
    subprocess.run([*git, "add", "published"], check=True)
    subprocess.run([*git, "commit", "--quiet", "-m", f"Publish {result.path.name}"], check=True)
    listing = subprocess.run([*git, "ls-tree", "-r", "-l", "HEAD", f"published/{result.path.name}"], check=True,
                             capture_output=True, text=True).stdout.splitlines()
    sizes = {line.split("\t")[1]: int(line.split()[3]) for line in listing}
    too_big = {name: size for name, size in sizes.items() if size > MAX_FILE_BYTES}
    if too_big:
        raise RehearsalFailed(f"committed files over {MAX_FILE_BYTES} bytes: {too_big}")
    machine = {str(Path.home()), str(REPO_ROOT), str(Path(catalog).resolve().parent)}
    leaks = find_leaks(result.path, machine)
    if leaks:
        raise RehearsalFailed("the published catalog shows this machine: " + "; ".join(leaks[:5]))
    return {"name": result.path.name, "files": len(sizes), "total_mb": round(sum(sizes.values()) / 1e6, 1),
            "largest_mb": round(max(sizes.values()) / 1e6, 2)}


def start_server(clone: Path, cpu: int, log_path: Path) -> tuple[subprocess.Popen, str]:
    """`streamlit run deploy/streamlit_app.py` from the clone's root, on one core, as Cloud starts it."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAYERSCOPE_") and k != "PYTHONPATH"}
    env["LAYERSCOPE_ACTIVATION_CACHE"] = str(clone / ".cache" / "activations")  # inside the app, as on Cloud
    streamlit = Path(sys.executable).parent / "streamlit"  # the console script: no cwd on sys.path, as on Cloud
    command = [str(streamlit) if streamlit.exists() else "streamlit", "run", ENTRYPOINT, "--server.headless", "true",
               "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    if shutil.which("taskset"):
        command = ["taskset", "-c", str(cpu), *command]
    log = open(log_path, "w")
    process = subprocess.Popen(command, cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return process, url
        except OSError:
            pass
        if process.poll() is not None or time.time() > deadline:
            raise RehearsalFailed(f"the app did not start; see {log_path}")
        time.sleep(0.3)


def _no_errors(page, where: str) -> None:
    if page.evaluate(ERRORS_JS):
        raise RehearsalFailed(f"{where}: the page shows an error: {page.inner_text('body')[:500]}")


def visit(url: str, timings: dict, pid: int) -> None:
    """Every page, as a visitor would use them; seconds per step into `timings`."""
    from playwright.sync_api import sync_playwright

    def step(name: str, started: float) -> None:
        timings[name] = round(time.perf_counter() - started, 1)
        timings[f"{name}_rss_mb"] = round(tree_rss_mb(pid))

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(180000)
            started = time.perf_counter()
            page.goto(url)
            page.get_by_text("This deployment holds").wait_for()
            _no_errors(page, "Home")
            step("home_s", started)

            started = time.perf_counter()
            page.get_by_role("link", name="Open the Explorer").first.click()
            page.wait_for_selector(".st-key-datamap .js-plotly-plot .gtitle")
            page.wait_for_selector(".ls-inspector-head")
            _no_errors(page, "Explorer")
            step("explorer_s", started)

            started = time.perf_counter()
            page.mouse.move(5, 5)
            x, y, sample_id = next(p for p in point_positions(page, 30) if p[2] != inspector_id(page))
            hover_point(page, x, y, sample_id, timeout=60000)
            page.mouse.click(x, y)
            page.wait_for_function("() => { const e = document.querySelector('.ls-inspector-head');"
                                   " return e && e.innerText.includes('pinned'); }")
            _no_errors(page, "Explorer, hover and pin")
            step("hover_pin_s", started)

            started = time.perf_counter()
            page.get_by_role("tab", name="Your image").click()
            chooser = page.locator(".st-key-upload_file input[type='file']")
            chooser.wait_for(state="attached")
            chooser.set_input_files(str(UPLOAD_IMAGE))
            page.wait_for_selector("[data-testid='upload-result']", timeout=420000)
            _no_errors(page, "Explorer, upload")
            step("upload_s", started)

            started = time.perf_counter()
            page.goto(f"{url}/SQL")
            query = page.locator(".st-key-sql_query textarea")
            query.wait_for()
            query.fill("SELECT label_name, count(*) AS n FROM samples GROUP BY 1 ORDER BY 2 DESC")
            page.locator(".st-key-sql_run button").click()
            page.wait_for_selector(".st-key-sql_download button")
            _no_errors(page, "SQL")
            step("sql_s", started)

            started = time.perf_counter()
            page.goto(f"{url}/About")
            page.get_by_text("The catalogs here").wait_for()
            _no_errors(page, "About")
            step("about_s", started)
        finally:
            browser.close()


def rehearse(catalog: Path, cpu: int = 0, max_rss_gb: float = 2.0, workdir: Path | None = None) -> dict:
    """The whole rehearsal; returns its figures, raises RehearsalFailed (with the figures so far) on a failure."""
    load_manifest(catalog)
    workdir = Path(workdir or tempfile.mkdtemp(prefix="layerscope-cloud-"))
    report: dict = {"catalog": str(catalog), "workdir": str(workdir), "cpu": cpu, "max_rss_mb": max_rss_gb * 1000}
    clone = fresh_clone(REPO_ROOT, workdir)
    report["published"] = publish_and_commit(catalog, clone)
    log_path = workdir / "server.log"
    started = time.perf_counter()
    process, url = start_server(clone, cpu, log_path)
    report["server_start_s"] = round(time.perf_counter() - started, 1)
    try:
        with RssSampler(process.pid, interval=0.25) as rss:
            report["idle_rss_mb"] = round(tree_rss_mb(process.pid))
            timings: dict = {}
            try:
                visit(url, timings, process.pid)
            finally:
                report["steps"] = timings
        report["peak_rss_mb"] = round(rss.peak_mb)
    finally:
        stop(process, timeout=15)
    log = log_path.read_text()
    if "Traceback" in log:
        raise RehearsalFailed(f"traceback in the server log ({log_path}): {log[log.index('Traceback'):][:1500]}")
    if report["peak_rss_mb"] > max_rss_gb * 1000:
        raise RehearsalFailed(f"peak RSS {report['peak_rss_mb']} MB is over {max_rss_gb} GB")
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cloud_rehearsal", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("catalog", nargs="?", type=Path, default=default_root() / "efficientnet_lite0-sample-all",
                        help="a finished catalog (default: the bundled sample's)")
    parser.add_argument("--cpu", type=int, default=0, help="the one CPU core the app may use (taskset)")
    parser.add_argument("--max-rss-gb", type=float, default=2.0)
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the clone and the server log")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="layerscope-cloud-"))
    try:
        report = rehearse(args.catalog, args.cpu, args.max_rss_gb, workdir)
    except (RehearsalFailed, LayerScopeError) as exc:
        print(f"rehearsal FAILED: {exc}\n(clone and server log kept in {workdir})")
        sys.exit(1)
    print(json.dumps(report, indent=2))
    print(f"rehearsal passed: peak RSS {report['peak_rss_mb']} MB (limit {args.max_rss_gb * 1000:.0f} MB), "
          f"{report['published']['files']} files, largest {report['published']['largest_mb']} MB")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
