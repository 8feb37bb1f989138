"""AppTest for every page's logic, against the small real catalog built once per session."""
from __future__ import annotations

import json
import shutil

import numpy as np

import catalog
from catalog import insights
from tests.apptest_tools import chart_spec, page_text, rerun, send_component

EXPLORER = "pages/1_Explorer.py"


def test_home_lists_catalogs(app_env, app_test):
    path, manifest, _ = app_env
    at = app_test("Home.py")
    table = at.dataframe[0].value
    row = table[table.catalog == path.name].iloc[0]
    assert row.N == manifest["n_samples"]
    assert row.model == manifest["model"]["label"]
    assert row["top-1 accuracy"] == f"{manifest['top1_accuracy']:.1%}"
    assert row.dataset == manifest["dataset"]["name"]
    assert "Build the bundled sample catalog" not in [b.label for b in at.button]


def test_home_builds_sample_when_none(app_env, app_test, catalog_dir_env, monkeypatch, tmp_path):
    path, manifest, _ = app_env
    empty = tmp_path / "empty"
    empty.mkdir()
    catalog_dir_env(empty)
    calls = []

    def fake_build(config, progress, log):
        bar = progress("one pass", 4)
        bar.update(2)
        bar.update(2)
        bar.close()
        log("model: fake")
        calls.append(config)
        shutil.copytree(path, config.out)
        return config.out, manifest

    monkeypatch.setattr("app.building.build_catalog", fake_build)
    at = app_test("Home.py")
    assert not at.dataframe
    rerun(at.button(key="build_sample").click())
    assert calls and calls[0].dataset == "sample" and calls[0].out.parent == empty
    assert at.dataframe and calls[0].out.name in set(at.dataframe[0].value.catalog)


def test_explorer_first_load(app_env, app_test):
    path, manifest, _ = app_env
    at = app_test(EXPLORER)
    text = page_text(at)
    assert manifest["model"]["label"] in text
    spec = chart_spec(at)
    layer_name = catalog.open(path).execute("SELECT name FROM layers WHERE layer_id = ?",
                                            [at.session_state.layer_id]).fetchone()[0]
    assert spec["layout"]["title"]["text"].startswith(f"{layer_name} · t-SNE · perplexity")
    # one image per class here, so coloured by coarse group: one legend entry per group, with its points
    labels = catalog.open(path).execute("SELECT group_name, count(*) FROM samples GROUP BY 1").fetchall()
    legend = {t["name"]: len(t["x"]) for t in spec["data"] if t.get("showlegend", True)}
    assert legend == dict(labels)
    n_points = sum(len(t["x"]) for t in spec["data"] if t.get("name") != "pinned")
    assert n_points == manifest["n_samples"]
    assert 'data-sample-id="%d"' % at.session_state.pinned in text
    assert "Perplexity used" in text


def test_explorer_layer_method_and_colour(app_env, app_test):
    at = app_test(EXPLORER)
    before = chart_spec(at)["data"]
    first = at.selectbox(key="layer_select").options[1]
    rerun(at.selectbox(key="layer_select").select(first))
    layer_id = at.session_state.layer_id
    assert first.split(": ", 1)[0] == str(layer_id)  # the chosen layer is the page's layer
    title = chart_spec(at)["layout"]["title"]["text"]
    assert title.startswith(first.split(": ", 1)[1] + " · ")
    assert chart_spec(at)["data"] != before  # and its own map
    assert at.query_params["layer"] in (str(layer_id), [str(layer_id)])  # which a shared URL keeps
    assert at.radio(key="method").options == ["t-SNE", "PCA"]  # what the user reads; the values are tsne/pca
    rerun(at.radio(key="method").set_value("pca"))
    assert chart_spec(at)["layout"]["title"]["text"].endswith("· PCA")
    assert at.session_state.layer_id == layer_id
    assert not any(s.key and s.key.startswith("perplexity") for s in at.select_slider)
    for colour in ("coarse group", "predicted class", "correct or not", "confidence"):
        rerun(at.selectbox(key="colour_by").select(colour))
        spec = chart_spec(at)
        assert spec["layout"]["legend"]["title"]["text"] == colour


def test_explorer_perplexity_shows_used_value(app_env, app_test):
    manifest = app_env.manifest
    at = app_test(EXPLORER)
    slider = at.select_slider[0]
    assert len(slider.options) == len(manifest["perplexities"]["requested"])
    for requested in manifest["perplexities"]["requested"]:
        rerun(slider.set_value(float(requested)))
        used = manifest["perplexities"]["used"][f"{float(requested):g}"]
        assert f"perplexity {used:g}" in chart_spec(at)["layout"]["title"]["text"]
        assert f"Perplexity used: **{used:g}**" in page_text(at)
        slider = at.select_slider[0]


def test_explorer_pinned_sample_in_inspector(app_test):
    at = app_test(EXPLORER)
    at.session_state.pinned = 5
    rerun(at)
    text = page_text(at)
    assert 'data-sample-id="5"' in text
    assert "top10" in text and text.count('class="ls-bar"') == 10
    for kind, word in (("image", "crop the model sees"), ("gradcam", "Grad-CAM:"),
                       ("guided", "Guided backprop:"), ("guided_gradcam", "Guided Grad-CAM:")):
        assert f'data-kind="{kind}"><img src="data:image/' in text
        assert word in text


def _gallery_cells(at) -> list[dict]:
    """The channels the activation gallery shows, in order: channel index `c` and score `s`."""
    grid = next(e for e in at.get("bidi_component") if e.proto.id.endswith("gallery_grid"))
    return json.loads(grid.proto.json)["items"]


def test_gallery_computes_and_caches_activations(app_env, app_test):
    from app.gallery import _gallery_items
    _gallery_items.clear()  # an earlier test in this process may have shown the same sample's gallery
    path, _, cache = app_env
    at = app_test(EXPLORER)
    layer_id = at.session_state.layer_id
    assert [b for b in at.button if b.key == "compute_activations"]
    rerun(at.button(key="compute_activations").click())
    files = list((cache / path.name).rglob("*.npy"))
    assert len(files) == len(at.selectbox(key="layer_select").options)
    # the map layer now shows all its channels, strongest first; no compute button any more
    assert not [b for b in at.button if b.key == "compute_activations"]
    channels = int(catalog.open(path).execute("SELECT channels FROM layers WHERE layer_id = ?",
                                              [layer_id]).fetchone()[0])
    cells = _gallery_cells(at)
    assert sorted(c["c"] for c in cells) == list(range(channels))
    assert [c["s"] for c in cells] == sorted((c["s"] for c in cells), reverse=True)
    rerun(at.segmented_control(key="gallery_sort").set_value("index"))
    assert [c["c"] for c in _gallery_cells(at)] == list(range(channels))
    cached = [f for f in files if f.name.endswith(f"_l{layer_id:03d}.npy")]
    assert np.load(cached[0]).ndim == 3
    # a dense layer shows all neurons as one heatmap
    dense = [o for o in at.selectbox(key="layer_select").options if "classifier" in o or "output" in o][0]
    rerun(at.selectbox(key="layer_select").select(dense))
    assert "neurons" in chart_spec(at, "vector_heatmap")["layout"]["title"]["text"]


def test_a_sample_pinned_on_the_map_shows_its_gallery_without_a_click(app_env, app_test):
    """Owner mode: a click on the map pins the sample and its gallery is computed at once; the initial
    pin (nobody chose it) keeps the button."""
    from app.gallery import _gallery_items
    _gallery_items.clear()
    at = app_test(EXPLORER)
    assert [b for b in at.button if b.key == "compute_activations"]
    other = next(i for i in catalog.open(app_env.path).execute("SELECT sample_id FROM samples").df().sample_id
                 if int(i) != at.session_state.pinned)
    send_component(at, "plot_bridge", event="click", value=int(other))
    rerun(at)  # the inspector's st.rerun: the whole page
    assert at.session_state.pinned == int(other)
    assert not [b for b in at.button if b.key == "compute_activations"]
    assert _gallery_cells(at)


def test_a_pin_begins_its_forward_before_the_page_reaches_the_gallery(app_env, app_test, monkeypatch):
    """Owner mode: the click that pins a sample starts its one forward in the background (the rerun
    rebuilds the map, depth strip and inspector meanwhile); the gallery waits for it, never runs its own."""
    import threading

    from app import state
    from app.gallery import _gallery_items
    _gallery_items.clear()
    forwards, real = [], state._forward_and_keep

    def counted(model_key, image, cache, sample_id):
        forwards.append((sample_id, threading.current_thread().name))
        real(model_key, image, cache, sample_id)

    monkeypatch.setattr(state, "_forward_and_keep", counted)
    at = app_test(EXPLORER)
    ids = catalog.open(app_env.path).execute("SELECT sample_id FROM samples").df().sample_id
    other = next(int(i) for i in ids if int(i) != at.session_state.pinned)
    send_component(at, "plot_bridge", event="click", value=other)
    rerun(at)  # the inspector's st.rerun: the whole page
    assert _gallery_cells(at)
    assert len(forwards) == 1
    assert forwards[0][0] == other and forwards[0][1].startswith("layerscope-activations")
    # pinned again later: its maps are on disk, no forward at all
    send_component(at, "plot_bridge", event="click", value=next(int(i) for i in ids if int(i) != other))
    rerun(at)
    send_component(at, "plot_bridge", event="click", value=other)
    rerun(at)
    assert at.session_state.pinned == other and _gallery_cells(at)
    assert [f[0] for f in forwards].count(other) == 1


def test_a_pins_gallery_warms_the_channel_tab_so_its_first_open_runs_no_forward(app_env, app_test, monkeypatch):
    """Owner mode: once a pin's gallery is shown (not before: the gallery's own run and drawing come
    first) the worker computes the nine maps the Channel tab shows first at this layer (its most active
    channel); the tab's first open reads them from disk."""
    import threading

    from app import state
    from app.gallery import _gallery_items
    from app.tabs import channel
    _gallery_items.clear()
    channel.channel_overlays.clear()
    release, forward, batch = threading.Event(), state._forward_and_keep, state._batch_and_keep
    batches = []

    def held(*args):
        assert release.wait(60)
        forward(*args)

    def counted(model_key, views, cache, sample_ids, layer_id):
        batches.append((tuple(sample_ids), layer_id, threading.current_thread().name))
        return batch(model_key, views, cache, sample_ids, layer_id)

    monkeypatch.setattr(state, "_forward_and_keep", held)
    monkeypatch.setattr(state, "_batch_and_keep", counted)
    monkeypatch.setattr(state, "WARM_DELAY_S", 0.2)
    at = app_test(EXPLORER)
    ids = catalog.open(app_env.path).execute("SELECT sample_id FROM samples").df().sample_id
    other = next(int(i) for i in ids if int(i) != at.session_state.pinned)
    send_component(at, "plot_bridge", event="click", value=other)
    try:
        rerun(at)  # the gallery waits for the pin's forward: nothing warmed yet
        assert "Computing the activations" in page_text(at)
        assert not batches and not state._warming and not state._warm_timers
    finally:
        release.set()
    state.activations_job(str(app_env.path), other).result(timeout=60)
    rerun(at)  # what the gallery's poll does once the forward has ended
    assert _gallery_cells(at)
    for timer in list(state._warm_timers.values()):
        timer.join(timeout=10)
    with state._jobs_lock:
        queued = list(state._warming.values())
    for job in queued:
        job.result(timeout=60)
    layer_id = at.session_state.layer_id
    assert len(batches) == 1 and batches[0][1] == layer_id and batches[0][2].startswith("layerscope-activations")
    at.session_state["explorer_tab"] = "Channel"
    rerun(at)
    html = page_text(at)
    assert 'data-testid="channel-top"' in html and html.count('class="ls-thumb"') == 9
    channel_id = int(at.session_state.channel)
    top = insights.channel_top_samples(catalog.open(app_env.path), layer_id, channel_id, 9)
    assert set(batches[0][0]) == {int(i) for i in top.sample_id}  # the maps the tab shows
    assert len(batches) == 1  # and its own run computed none


def test_about(app_env, app_test):
    at = app_test("pages/3_About.py")
    path = app_env.path
    text = page_text(at)
    assert path.name in text and "Grad-CAM" in text and "t-SNE" in text and "untrained" in text
