"""The view stays the person's in headless Chromium: a trip to another page and back keeps it, Back and
Forward step through the views with the address matching the map, and a newly pinned sample's gallery
shows without a click. Screenshots go to test-artifacts/."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from harness.browser import inspector_id, layer_ids, map_title, open_explorer, point_positions, switch_layer, \
    wait_map_settled

pytestmark = pytest.mark.browser


def _params(page) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlparse(page.url).query).items()}


def _layer_name(page, layer_id: int) -> str:
    return page.locator(f'[data-layer-id="{layer_id}"]').get_attribute("data-name")


def _pressed(page, container: str) -> list[str]:
    """The labels of the pressed buttons of a segmented control."""
    return page.evaluate("""key => [...document.querySelectorAll('.st-key-' + key + ' button')]
        .filter(b => b.getAttribute('aria-checked') === 'true').map(b => b.innerText.trim())""",
                         container)


def test_a_trip_to_about_and_back_keeps_the_view(streamlit_server, browser_page, page_errors, screenshot):
    page, url = browser_page, streamlit_server.url
    open_explorer(page, url)
    target = layer_ids(page)[-4]
    name, _ = switch_layer(page, target)
    page.locator(".st-key-method label", has_text="PCA").click()
    page.wait_for_function("t => [...document.querySelectorAll('.st-key-datamap .gtitle')]"
                           ".some(e => e.textContent === t)", arg=f"{name} · PCA", timeout=30000)
    page.locator(".st-key-colour_by").get_by_role("combobox").click()
    page.get_by_role("option", name="predicted class").click()
    page.wait_for_function("() => location.search.includes('colour=predicted')", timeout=30000)
    page.locator(".st-key-map_filter button", has_text="wrong").click()
    page.wait_for_function("() => location.search.includes('show=incorrect')", timeout=30000)
    page.get_by_role("tab", name="Neighbours").click()
    page.wait_for_timeout(1500)
    before = _params(page)

    page.get_by_role("link", name="About").first.click()
    page.wait_for_function("() => location.pathname.endsWith('/About')", timeout=30000)
    page.wait_for_timeout(2500)  # the About page's run ends (Streamlit drops the Explorer's widget keys)
    page.get_by_role("link", name="Explorer").first.click()
    page.wait_for_selector(".st-key-datamap .js-plotly-plot .gtitle", timeout=60000)
    page.wait_for_function("t => [...document.querySelectorAll('.st-key-datamap .gtitle')]"
                           ".some(e => e.textContent === t)", arg=f"{name} · PCA", timeout=30000)
    page.wait_for_timeout(1500)
    screenshot("continuity-1-back-from-about")
    assert page.locator(".st-key-method input[type='radio']:checked").evaluate(
        "e => e.closest('label').innerText.trim()") == "PCA"
    assert "predicted class" in page.locator(".st-key-colour_by").evaluate(
        "e => e.innerText + ' ' + [...e.querySelectorAll('input')].map(i => i.value || i.placeholder).join(' ')"
        " + ' ' + [...e.querySelectorAll('[aria-label], [title]')].map(i => i.getAttribute('aria-label')"
        " + ' ' + i.getAttribute('title')).join(' ')")
    assert _pressed(page, "map_filter") == ["wrong"]
    assert page.get_by_role("tab", name="Neighbours").get_attribute("aria-selected") == "true"
    assert _params(page) == before
    assert not page_errors


def test_back_and_forward_step_through_layers_and_the_address_follows(streamlit_server, browser_page,
                                                                      page_errors, screenshot):
    page, url = browser_page, streamlit_server.url
    open_explorer(page, url)
    ids = layer_ids(page)
    visited = ids[-6:-3]
    for layer_id in visited:
        switch_layer(page, layer_id)
        page.wait_for_function("id => new URLSearchParams(location.search).get('layer') === String(id)",
                               arg=layer_id, timeout=30000)

    def shows(layer_id: int) -> None:
        wait_map_settled(page, _layer_name(page, layer_id))
        page.wait_for_function("id => new URLSearchParams(location.search).get('layer') === String(id)",
                               arg=layer_id, timeout=30000)
        page.wait_for_timeout(1500)  # no later run may move the map or the address again
        assert map_title(page).startswith(_layer_name(page, layer_id) + " ·")
        assert _params(page)["layer"] == str(layer_id)
        assert page.locator(f'[data-layer-id="{layer_id}"]').get_attribute("class").find("selected") >= 0

    page.go_back()
    shows(visited[1])
    page.go_back()
    shows(visited[0])
    screenshot("continuity-2-after-two-backs")
    page.go_forward()
    shows(visited[1])
    page.go_forward()
    shows(visited[2])
    assert not page_errors


def test_a_newly_pinned_samples_gallery_shows_without_a_click(streamlit_server, browser_page, page_errors,
                                                             screenshot):
    page, url = browser_page, streamlit_server.url
    open_explorer(page, url)
    page.mouse.move(5, 5)
    x, y, sample_id = next(pt for pt in point_positions(page, 30) if pt[2] != inspector_id(page))
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    page.wait_for_function("id => document.querySelector('.st-key-gallery').innerText"
                           ".includes('Activations of #' + id + ' ')", arg=sample_id, timeout=30000)
    page.wait_for_selector(".st-key-gallery .gal .cell", timeout=30000)
    screenshot("continuity-3-pinned-gallery")
    assert page.get_by_role("button", name="Compute activations").count() == 0
    assert not page_errors
