"""AppTest for every page's logic, against the small real catalog built once per session."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 120


@pytest.fixture
def app_env(small_catalog, monkeypatch, tmp_path):
    path, manifest = small_catalog
    monkeypatch.setenv("LAYERSCOPE_CATALOG_DIR", str(path.parent))
    monkeypatch.setenv("LAYERSCOPE_ACTIVATION_CACHE", str(tmp_path / "activations"))
    return path, manifest


def run(page: str) -> AppTest:
    at = AppTest.from_file(str(REPO / page), default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def text_of(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [h.proto.body for h in at.get("html")]
    return "\n".join(parts)


def chart_spec(at: AppTest, key: str = "datamap_chart") -> dict:
    import json
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        if key is None or chart.proto.id.endswith(key) or key in str(chart.proto.id):
            return spec
    raise AssertionError(f"no plotly chart {key}")


def test_home_lists_catalogs(app_env):
    path, manifest = app_env
    at = run("Home.py")
    table = at.dataframe[0].value
    row = table[table.catalog == path.name].iloc[0]
    assert row.N == manifest["n_samples"]
    assert row.model == manifest["model"]["label"]
    assert row["top-1 accuracy"] == f"{manifest['top1_accuracy']:.1%}"
    assert row.dataset == manifest["dataset"]["name"]
    assert "Build the bundled sample catalog" not in [b.label for b in at.button]


def test_home_builds_sample_when_none(app_env, monkeypatch, tmp_path):
    path, manifest = app_env
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("LAYERSCOPE_CATALOG_DIR", str(empty))
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
    at = run("Home.py")
    assert not at.dataframe
    at.button(key="build_sample").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert calls and calls[0].dataset == "sample" and calls[0].out.parent == empty
    assert at.dataframe and calls[0].out.name in set(at.dataframe[0].value.catalog)


def test_explorer_first_load(app_env):
    path, manifest = app_env
    at = run("pages/1_Explorer.py")
    text = text_of(at)
    assert manifest["model"]["label"] in text
    spec = chart_spec(at)
    layer = at.session_state.layer_id
    assert "t-SNE · perplexity" in spec["layout"]["title"]["text"]
    # a legend per class: one trace per true class (plus the pinned marker)
    classes = {t["name"] for t in spec["data"] if t.get("showlegend", True)}
    assert len(classes) == manifest["dataset"]["classes"] or len(classes) >= 2
    n_points = sum(len(t["x"]) for t in spec["data"] if t.get("name") != "pinned")
    assert n_points == manifest["n_samples"]
    assert 'data-sample-id="%d"' % at.session_state.pinned in text
    assert "Perplexity used" in text
    assert isinstance(layer, int)


def test_explorer_layer_method_and_colour(app_env):
    at = run("pages/1_Explorer.py")
    names = {o: o for o in at.selectbox(key="layer_select").options}
    first = at.selectbox(key="layer_select").options[1]
    at.selectbox(key="layer_select").select(first).run()
    assert not at.exception
    layer_id = at.session_state.layer_id
    title = chart_spec(at)["layout"]["title"]["text"]
    assert title.startswith(first.split(": ", 1)[1] + " · ")
    assert at.radio(key="method").options == ["t-SNE", "PCA"]  # what the user reads; the values are tsne/pca
    at.radio(key="method").set_value("pca").run()
    assert not at.exception
    assert chart_spec(at)["layout"]["title"]["text"].endswith("· PCA")
    assert at.session_state.layer_id == layer_id
    assert not any(s.key and s.key.startswith("perplexity") for s in at.select_slider)
    for colour in ("coarse group", "predicted class", "correct or not", "confidence"):
        at.selectbox(key="colour_by").select(colour).run()
        assert not at.exception, colour
        spec = chart_spec(at)
        assert spec["layout"]["legend"]["title"]["text"] == colour
    assert names


def test_explorer_perplexity_shows_used_value(app_env):
    path, manifest = app_env
    at = run("pages/1_Explorer.py")
    slider = at.select_slider[0]
    assert len(slider.options) == len(manifest["perplexities"]["requested"])
    for requested in manifest["perplexities"]["requested"]:
        slider.set_value(float(requested)).run()
        assert not at.exception
        used = manifest["perplexities"]["used"][f"{float(requested):g}"]
        assert f"perplexity {used:g}" in chart_spec(at)["layout"]["title"]["text"]
        assert f"Perplexity used: **{used:g}**" in text_of(at)
        slider = at.select_slider[0]


def test_explorer_pinned_sample_in_inspector(app_env):
    at = run("pages/1_Explorer.py")
    at.session_state.pinned = 5
    at.run()
    assert not at.exception
    text = text_of(at)
    assert 'data-sample-id="5"' in text
    assert "top10" in text and text.count('class="ls-bar"') == 10
    for kind, word in (("image", "crop the model sees"), ("gradcam", "Grad-CAM:"),
                       ("guided", "Guided backprop:"), ("guided_gradcam", "Guided Grad-CAM:")):
        assert f'data-kind="{kind}"><img src="data:image/' in text
        assert word in text


def test_gallery_computes_and_caches_activations(app_env, tmp_path):
    path, _ = app_env
    at = run("pages/1_Explorer.py")
    layer_id = at.session_state.layer_id
    assert [b for b in at.button if b.key == "compute_activations"]
    at.button(key="compute_activations").click().run()
    assert not at.exception, [e.value for e in at.exception]
    files = list((tmp_path / "activations" / path.name).rglob("*.npy"))
    assert len(files) == len(at.selectbox(key="layer_select").options)
    # the map layer now shows its channels, sortable; no compute button any more
    assert not [b for b in at.button if b.key == "compute_activations"]
    assert at.get("button_group") or at.get("segmented_control")
    cached = [f for f in files if f.name.endswith(f"_l{layer_id:03d}.npy")]
    assert np.load(cached[0]).ndim == 3
    # a dense layer shows all neurons as one heatmap
    dense = [o for o in at.selectbox(key="layer_select").options if "classifier" in o or "output" in o][0]
    at.selectbox(key="layer_select").select(dense).run()
    assert not at.exception
    assert "neurons" in chart_spec(at, "vector_heatmap")["layout"]["title"]["text"]


def test_about(app_env):
    path, manifest = app_env
    at = run("pages/3_About.py")
    text = text_of(at)
    assert path.name in text and "Grad-CAM" in text and "t-SNE" in text and "untrained" in text
