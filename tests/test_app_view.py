"""The View type and its URL form: a view written to query parameters and read back is the same view;
what a catalog does not have falls back."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from app.urlstate import from_params, to_params
from app.view import View
from tests.apptest_tools import chart_json, rerun

LAYERS = range(12)
SAMPLES = range(24)
PERPLEXITIES = [(3.0, 3.0), (30.0, 7.0)]  # (requested, used): 30 is capped to 7 for 24 samples
FALLBACK = View(catalog="/catalogs/lite0-sample-24", layer_id=9, method="tsne", perplexity_requested=3.0,
                perplexity_used=3.0, pinned=0, colour_by="confidence", show="incorrect")


def _read(params: dict[str, str], fallback: View = FALLBACK) -> View:
    return from_params(params, fallback, LAYERS, SAMPLES, PERPLEXITIES)


@pytest.mark.parametrize("view", [
    replace(FALLBACK, layer_id=4, perplexity_requested=30.0, perplexity_used=7.0, pinned=17, channel=5),
    replace(FALLBACK, layer_id=0, method="pca", perplexity_requested=None, perplexity_used=None, pinned=23),
    replace(FALLBACK, layer_id=11, channel=0),
    replace(FALLBACK, colour_by="coarse group", show="all"),
    replace(FALLBACK, colour_by="correct or not", show="correct"),
    replace(FALLBACK, pictures=False),
])
def test_a_view_survives_the_url(view):
    params = to_params(view)
    assert params["catalog"] == "lite0-sample-24" and params["method"] == view.method
    assert ("perplexity" in params) == (view.method == "tsne")
    assert (params["colour"], params["show"]) == (view.colour_by, view.show)
    assert _read(params) == view
    # from a fresh session (other layer, sample, colour and filter, no channel) too
    fresh = replace(FALLBACK, layer_id=2, pinned=9, channel=None, colour_by="class", show="incorrect")
    assert _read(params, fresh) == view


def test_the_pictures_switch_travels_only_when_off():
    assert "pics" not in to_params(FALLBACK) and to_params(replace(FALLBACK, pictures=False))["pics"] == "0"
    off = replace(FALLBACK, pictures=False)
    params = to_params(FALLBACK)
    assert _read(params, off).pictures is True  # a link without pics: pictures on, whatever the session had
    assert _read({**params, "pics": "yes please"}, off).pictures is False  # malformed: as the session has it


def test_what_the_catalog_lacks_falls_back():
    params = to_params(replace(FALLBACK, layer_id=4, pinned=17, channel=5))
    assert _read({**params, "layer": "12"}).layer_id == FALLBACK.layer_id  # no such layer
    assert _read({**params, "layer": "-1"}).layer_id == FALLBACK.layer_id
    assert _read({**params, "pinned": "24"}).pinned == FALLBACK.pinned  # no such sample
    assert _read({**params, "pinned": "seven"}).pinned == FALLBACK.pinned
    assert _read({**params, "channel": "-2"}).channel == FALLBACK.channel
    assert _read({**params, "perplexity": "50"}).perplexity_requested == FALLBACK.perplexity_requested
    assert _read({**params, "method": "umap"}).method == FALLBACK.method
    assert _read({**params, "colour": "hue"}).colour_by == FALLBACK.colour_by  # no such colouring
    assert _read({**params, "show": "wrong"}).show == FALLBACK.show  # the label, not the value
    # t-SNE asked of a catalog without t-SNE maps: the fallback's method stays
    pca = replace(FALLBACK, method="pca", perplexity_requested=None, perplexity_used=None)
    assert from_params({"method": "tsne"}, pca, LAYERS, SAMPLES, []) == pca
    # the rest of the URL still counts
    restored = _read({**params, "layer": "99"})
    assert (restored.pinned, restored.channel) == (17, 5)
    assert _read({}) == FALLBACK


def test_a_view_names_only_known_methods_and_filters():
    with pytest.raises(ValueError):
        View(catalog="x", layer_id=0, method="t-SNE")
    with pytest.raises(ValueError):
        View(catalog="x", layer_id=0, show="wrong")


def test_the_explorer_writes_back_the_view_a_url_opened(app_env, app_test):
    path, manifest = app_env.path, app_env.manifest
    requested = sorted(float(p) for p in manifest["perplexities"]["requested"])[-1]
    view = View(catalog=str(path), layer_id=5, method="tsne", perplexity_requested=requested,
                perplexity_used=float(manifest["perplexities"]["used"][f"{requested:g}"]), pinned=7, channel=2,
                colour_by="confidence", show="incorrect")
    at = app_test("pages/1_Explorer.py", params=to_params(view))
    written = {key: at.query_params[key] for key in at.query_params}
    written = {key: value[0] if isinstance(value, list) else value for key, value in written.items()}
    assert written == to_params(view)
    assert (at.session_state.layer_id, at.session_state.pinned, at.session_state.method) == (5, 7, "tsne")
    assert at.session_state[f"perplexity::{path}"] == requested
    # the link's colouring and filter are on the widgets, and the map draws them
    assert at.selectbox(key="colour_by").value == "confidence"
    assert at.segmented_control(key="map_filter").value == "incorrect"
    assert "confidence" in json.dumps(chart_json(at, "datamap_chart"))


def _slider_shows_again(at, key: str) -> str:
    """The option the browser draws on the select slider `key` as it comes back after a run without it:
    the value the run sends, else the slider's default (the browser kept no value for it)."""
    proto = at.select_slider(key=key).proto
    return proto.raw_value[0] if proto.set_value else proto.options[int(proto.default[0])]


@pytest.mark.parametrize("server", ["drops", "keeps"])
@pytest.mark.parametrize("chosen", [30.0, 3.0])
def test_the_perplexity_slider_comes_back_from_pca_at_the_maps_perplexity(app_test, monkeypatch, chosen, server):
    """t-SNE, PCA, t-SNE: the slider shows the perplexity the map uses, the person's. "keeps": the
    server keeps the hidden slider's value while the browser drops it, as after a fragment rerun the
    browser asked for during PCA's run (a zoomed map reports its view as PCA's map is drawn): the
    request carries the slider's value, and a fragment run drops no widget outside it. Here the PCA
    run's cleanup is left out, to the same state."""
    from streamlit.runtime.state.session_state import SessionState

    at = app_test("pages/1_Explorer.py")
    key = f"perplexity::{at.session_state.catalog_path}"
    rerun(at.select_slider(key=key).set_value(chosen))
    shown = {3.0: "3", 30.0: "30→7"}[chosen]  # 30 is capped to 7 for 24 samples
    with monkeypatch.context() as patch:
        if server == "keeps":  # internals: AppTest cannot run a fragment; a browser needs a race
            patch.setattr(SessionState, "_remove_stale_widgets", lambda self, active: None)
        rerun(at.radio(key="method").set_value("pca"))
    assert key not in {slider.key for slider in at.select_slider}  # PCA has no perplexity
    rerun(at.radio(key="method").set_value("tsne"))
    assert _slider_shows_again(at, key) == shown
    assert at.select_slider(key=key).value == chosen
    assert at.query_params["perplexity"] in (f"{chosen:g}", [f"{chosen:g}"])
