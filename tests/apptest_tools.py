"""Driving an AppTest as a browser would, and reading what it would draw: rerun after a change, send a
plotly chart's selection or a component's event, read a chart's figure and the page's text. The
`app_test` fixture (conftest.py) opens the page; these act on what it returns."""
from __future__ import annotations

import base64
import json

import numpy as np

APP_TIMEOUT = 180  # seconds one AppTest run may take (the first Explorer run loads the model)


def check(at):
    """The AppTest, after asserting that its last run raised nothing."""
    assert not at.exception, [e.value for e in at.exception]
    return at


def rerun(at):
    """Run the AppTest again (after changing a widget or the session state); assert nothing raised."""
    return check(at.run())


def click_plotly_points(at, key: str, points: list[dict]):
    """What the browser sends when a user clicks (selects) `points` (as Streamlit's chart reports them:
    curve_number, point_number, point_index, customdata, x, y) of the plotly chart with `key`: the
    mounted chart's click trigger (app/plotly_view.js), or Streamlit's chart's selection state, so the
    chart's callback runs; then the rerun's AppTest."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    if any(e.proto.id.endswith(key) for e in at.get("bidi_component")):
        sent = [{"curveNumber": p.get("curve_number", 0), "pointNumber": p.get("point_number", p.get("point_index", 0)),
                 **{name: p[name] for name in ("customdata", "x", "y") if name in p}} for p in points]
        return send_component(at, key, event="click", value=sent)
    chart = next((c for c in at.get("plotly_chart") if c.proto.id.endswith(key)), None)
    assert chart is not None, f"no plotly chart {key}"
    selection = {"selection": {"points": points, "point_indices": [p.get("point_index", 0) for p in points],
                               "box": [], "lasso": []}}
    states = at._tree.get_widget_states()
    states.widgets.append(WidgetState(id=chart.proto.id, string_value=json.dumps(selection)))
    return check(at._run(states))


def select_plotly_ids(at, key: str, ids: list):
    """What the browser sends when a user selects (box or lasso) the points whose customdata starts with
    `ids` on the data-map chart with `key`: the mounted chart's select trigger (app/plotly_view.js, the
    ids as sent, any JSON), or Streamlit's chart's selection state (a point per id); then the rerun's
    AppTest. [] is a double click clearing the selection."""
    if any(e.proto.id.endswith(key) for e in at.get("bidi_component")):
        return send_component(at, key, event="select", value=ids)
    return click_plotly_points(at, key, [{"point_index": i, "customdata": [v]} for i, v in enumerate(ids)])


def send_component(at, key: str, *, event: str | None = None, value=None, state: dict | None = None):
    """What a browser sends for the components-v2 element with `key`: one trigger `event` carrying
    `value` (the plot bridge's hover, click, select), or the element's `state` (the layer map's
    {"selected": id}); then the rerun's AppTest. Any JSON a visitor's browser could send."""
    from streamlit.components.v2.bidi_component.main import _make_trigger_id
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    element = next((e for e in at.get("bidi_component") if e.proto.id.endswith(key)), None)
    assert element is not None, f"no component {key}"
    sent = {}
    if event is not None:
        sent[_make_trigger_id(element.proto.id, "events")] = WidgetState(
            json_trigger_value=json.dumps([{"event": event, "value": value}]))
    if state is not None:
        sent[element.proto.id] = WidgetState(json_value=json.dumps(state))
    states = at._tree.get_widget_states()
    kept = [w for w in states.widgets if w.id not in sent]
    del states.widgets[:]
    states.widgets.extend(kept)
    for widget_id, widget in sent.items():
        widget.id = widget_id
        states.widgets.append(widget)
    return check(at._run(states))


def chart_json(at, key: str = "datamap_chart") -> dict:
    """The plotly figure (data and layout) of the chart with `key` as sent to the browser, whether
    Streamlit's st.plotly_chart or the mounted chart of app/plotly_view.py draws it."""
    for chart in at.get("plotly_chart"):
        if chart.proto.id.endswith(key):
            return json.loads(chart.proto.spec)
    for element in at.get("bidi_component"):
        if element.proto.id.endswith(key):
            sent = json.loads(element.proto.json)
            return {"data": json.loads(sent["traces"]), "layout": json.loads(sent["layout"])}
    raise AssertionError(f"no plotly chart {key}")


def chart_spec(at, key: str = "datamap_chart") -> dict:
    """`chart_json` with its typed arrays (numpy arrays travel as {"dtype", "bdata", "shape"}) decoded
    into lists as plotly.js decodes them."""
    return decode_typed_arrays(chart_json(at, key))


def decode_typed_arrays(value):
    """`value` with its typed arrays decoded into lists, as plotly.js decodes them."""
    if isinstance(value, dict):
        if isinstance(value.get("bdata"), str) and isinstance(value.get("dtype"), str):
            array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
            if value.get("shape") is not None:
                array = array.reshape([int(n) for n in str(value["shape"]).split(",")])
            return array.tolist()
        return {k: decode_typed_arrays(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_typed_arrays(v) for v in value]
    return value


def component_data(at, key: str):
    """The data a components-v2 element with `key` hands its script (None: no such element)."""
    element = next((e for e in at.get("bidi_component") if e.proto.id.endswith(key)), None)
    return None if element is None else json.loads(element.proto.json or "null")


def component_html(at) -> list[str]:
    """The markup of every component that draws server-made HTML (the clickable thumbnails)."""
    data = [json.loads(e.proto.json or "null") for e in at.get("bidi_component")]
    return [d["html"] for d in data if isinstance(d, dict) and isinstance(d.get("html"), str)]


def page_text(at) -> str:
    """All markdown, captions and HTML of the page (components' markup included), as one string."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [h.proto.body for h in at.get("html")] + component_html(at)
    return "\n".join(parts)
