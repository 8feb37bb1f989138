"""The app's components-v2 elements keep their browser code in files beside their modules (app/*.js,
app/*.css, checked by CI's linters), and a page serves exactly those files."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from app import plotly_view

APP = Path(plotly_view.__file__).parent

# each component's registered name: its script and its style (None: it has none)
FILES = {
    "layerscope.layer_map": ("layer_map.js", "layer_map.css"),
    "layerscope.plot_bridge": ("plot_bridge.js", None),
    "layerscope.plotly_view": ("plotly_view.js", None),
    "layerscope.map_pictures": ("map_pictures.js", None),
    "layerscope.gallery": ("gallery.js", "gallery.css"),
    "layerscope.fold_sidebar": ("style.js", None),
    "layerscope.sample_grid": ("sample_grid.js", "sample_grid.css"),
}


def _mount_every_component():
    """A page that mounts each component once, on made-up data."""
    import pandas as pd

    from app import gallery, layer_map, map_pictures, plot_bridge, plotly_view, style
    from app.sample_grid import pickable_thumbs

    table = pd.DataFrame({"layer_id": [0, 1], "name": ["input", "features.0"], "kind": ["input", "conv"],
                          "channels": [3, 8], "height": [8, 4], "width": [8, 4]})
    layer_map.layer_map(table, selected=0, key="layer_map", on_change=lambda: None)
    plot_bridge.bridge("datamap", key="plot_bridge")
    plotly_view.chart({"data": [{"x": [0.0, 1.0], "y": [1.0, 0.0]}], "layout": {}}, key="chart", height=200)
    map_pictures.element(".st-key-chart .js-plotly-plot", "map", {"pictures": []}, {}, 1, None,
                         on_view=lambda: None, on_missing=lambda: None)
    items = {"lo": 0.0, "hi": 1.0, "scores": [0.5, 0.25], "urls": ["data:image/png;base64,", "data:image/png;base64,"]}
    gallery.grid(items, order=[0, 1], key="gallery")
    style.load_css()
    pickable_thumbs("no-catalog", [], [], "thumbs", key="thumbs", on_pin=lambda _id: None)


def test_each_component_serves_the_files_beside_its_module(monkeypatch):
    monkeypatch.setattr(plotly_view, "asset_url", lambda: "app/static/plotly.min.js")
    at = AppTest.from_function(_mount_every_component).run()
    assert not at.exception, [e.value for e in at.exception]
    served = {element.proto.component_name: element.proto for element in at.get("bidi_component")}
    assert sorted(served) == sorted(FILES)
    for name, (script, style) in FILES.items():
        assert served[name].js_content == (APP / script).read_text(encoding="utf-8"), name
        assert served[name].css_content == ((APP / style).read_text(encoding="utf-8") if style else ""), name


def test_the_plotly_preload_tag_runs_its_file():
    """plotly_preload.js is no component's: an st.html script tag at the page's top runs it, with the
    URL of the plotly.js that the charts load."""
    def page():
        from app import plotly_view
        plotly_view.preload()

    at = AppTest.from_function(page).run()
    assert not at.exception
    [tag] = [e.proto.body for e in at.get("html")]
    assert tag == f'<script data-src="{plotly_view.asset_url()}">{(APP / "plotly_preload.js").read_text()}</script>'


def test_every_script_and_style_in_app_belongs_to_a_component():
    """A file no component loads would be linted but never run (plotly_preload.js: the test above)."""
    named = {file for files in FILES.values() for file in files if file} | {"plotly_preload.js"}
    assert {p.name for p in APP.glob("*.js")} == {f for f in named if f.endswith(".js")}
    assert {p.name for p in APP.glob("*.css")} - {"style.css"} == {f for f in named if f.endswith(".css")}
