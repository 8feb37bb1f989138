"""Stop on the Explain tab, clicked by mouse in headless Chromium while a slow run is going: a real
Score-CAM run, and the faithfulness measurement, show their progress and a Stop button; the click ends the
run with a message that nothing was kept, the button that starts it is back, and the next computation is
not refused as "still running". Screenshots go to test-artifacts/."""
from __future__ import annotations

import re

import pytest

from app import layer_explain

pytestmark = pytest.mark.browser

SHOWN = "[data-testid='layer-cam'][data-method='{}'] img"
# a progress bar's text once at least one step is done: "<label>: <done> of <total> <unit>"
PROGRESS_AT = """([label, least]) => [...document.querySelectorAll('[data-testid="stProgress"]')].some((bar) => {
  const m = bar.innerText.match(new RegExp(label + ': (\\\\d+) of (\\\\d+)'));
  return m && +m[1] >= least && +m[1] < +m[2];
})"""


def _explain_tab(page, url: str) -> None:
    page.goto(f"{url}/Explorer")
    page.wait_for_selector(".ls-inspector-head", timeout=90000)
    page.get_by_role("tab", name="Explain").click()


def _progress(page) -> str:
    return " ".join(page.locator("[data-testid='stProgress']").all_inner_texts())


def test_stop_ends_a_score_cam_run_and_the_tab_stays_usable(shared_streamlit_server, browser_page, page_errors,
                                                             screenshot):
    page = browser_page
    _explain_tab(page, shared_streamlit_server.url)
    page.locator(".st-key-explain_method").get_by_text("Score-CAM", exact=True).click()
    page.get_by_role("button", name="Run Score-CAM").click(timeout=60000)
    page.wait_for_function(PROGRESS_AT, arg=["Score-CAM", 1], timeout=180000)  # the model loads first
    assert re.fullmatch(r"Score-CAM: \d+ of \d+ model passes", _progress(page).strip()), _progress(page)
    screenshot("explain-stop-1-score-cam-running")
    page.get_by_role("button", name="Stop").click()
    page.get_by_text("Score-CAM stopped: nothing was kept").wait_for(timeout=60000)
    screenshot("explain-stop-2-score-cam-stopped")
    assert page.locator("[data-testid='stProgress']").count() == 0
    assert page.get_by_role("button", name="Stop").count() == 0
    assert page.get_by_role("button", name="Run Score-CAM").is_visible()  # nothing kept: it can be run again
    assert page.locator("[data-testid='layer-cam']").count() == 0

    page.locator(".st-key-explain_method").get_by_text("Grad-CAM", exact=True).click()
    page.get_by_role("button", name="Explain at this layer").click(timeout=60000)
    page.wait_for_selector(SHOWN.format("gradcam"), timeout=60000)  # the stopped run gave its place back
    assert "still running" not in page.inner_text("body")
    assert not page_errors


def test_stop_ends_the_faithfulness_measurement_with_no_partial_scores(shared_streamlit_server, browser_page,
                                                                       page_errors, screenshot):
    page = browser_page
    _explain_tab(page, shared_streamlit_server.url)
    page.get_by_role("button", name="Measure faithfulness").click(timeout=60000)
    # each fast method's map first, then the perturbed images: Stop once the scoring proper has begun
    page.wait_for_function(PROGRESS_AT, arg=["Faithfulness", len(layer_explain.FAST) + 1], timeout=240000)
    assert re.fullmatch(r"Faithfulness: \d+ of \d+ steps", _progress(page).strip()), _progress(page)
    page.get_by_role("button", name="Stop").click()
    page.get_by_text("Faithfulness stopped before every method was scored: no score was kept").wait_for(
        timeout=60000)
    screenshot("explain-stop-3-faithfulness-stopped")
    assert page.locator("[data-testid='stProgress']").count() == 0
    assert page.locator(".st-key-explain_scores [data-testid='stDataFrame']").count() == 0  # not even a part
    assert page.get_by_role("button", name="Measure faithfulness").is_visible()

    page.get_by_role("button", name="Find concepts").click()
    page.wait_for_selector("[data-kind^='concept-']", timeout=120000)  # the stopped run gave its place back
    assert "still running" not in page.inner_text("body")
    assert not page_errors
