"""The depth strip under the data map: the pinned sample's path through the layers, one cell
per layer coloured by what its 10 nearest other samples vote for there, as strong as their share; the
cells voting for its true label say T, those voting for the model's answer say P. A click on a cell
selects that layer."""
from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app import cached, fragments, palette, plotly_view
from app.browser_values import known_int
from app.charts import DARK
from app.separability_chart import clicked_layer

KEY = "depth_strip_chart"
TRUE_MARK, ANSWER_MARK = "T", "P"


def cells(path_frame: pd.DataFrame, level: str, true: str, answer: str) -> pd.DataFrame:
    """One row per layer of a `trajectory` frame: layer_id, position, name, vote and share at `level`
    ('class' or 'group'), and its mark (T: the true label, P: the model's answer, '' otherwise)."""
    vote = path_frame["vote_class_name" if level == "class" else "vote_group"].astype(str)
    share = path_frame["vote_class_share" if level == "class" else "vote_group_share"].astype(float)
    mark = [TRUE_MARK if v == true else ANSWER_MARK if v == answer else "" for v in vote]
    return pd.DataFrame({"layer_id": path_frame["layer_id"].astype(int), "position": path_frame["position"],
                         "name": path_frame["name"], "vote": vote, "share": share, "mark": mark})


def colours(votes: list[str], level: str, labels: list[str]) -> list[str]:
    """A vote's colour: the coarse group's own colour, or a class's place among the catalog's `labels`."""
    if level == "group":
        return [palette.GROUP_COLOURS.get(v, "#888888") for v in votes]
    of = palette.category_colours(sorted(set(labels)))
    return [of.get(v, "#888888") for v in votes]


def figure(frame: pd.DataFrame, colour: list[str], selected: int) -> go.Figure:
    """`frame`: `cells`; the selected layer's cell framed in white. A plain dict, no plotly validation."""
    chosen = [int(i) == int(selected) for i in frame.layer_id]
    x = [int(p) for p in frame.position]
    trace = {"type": "bar", "x": x, "y": [1] * len(frame), "width": 0.92,
             "customdata": [[int(i), str(n), str(v), float(s)] for i, n, v, s in
                            zip(frame.layer_id, frame.name, frame.vote, frame.share)],
             "hovertemplate": "%{customdata[1]}<br>vote: %{customdata[2]} (%{customdata[3]:.0%} of 10)"
                              "<extra></extra>",
             "marker": {"color": colour, "opacity": [round(0.15 + 0.85 * float(s), 3) for s in frame.share],
                        "line": {"color": ["#ffffff" if c else "rgba(0,0,0,0)" for c in chosen],
                                 "width": [2.5 if c else 0 for c in chosen]}},
             "selected": {"marker": {"opacity": 1}}, "unselected": {"marker": {"opacity": 1}}}
    marks = {"type": "scatter", "x": x, "y": [0.5] * len(frame), "mode": "text", "text": list(frame.mark),
             "textfont": {"color": "#ffffff", "size": 12}, "hoverinfo": "skip", "showlegend": False, "name": "marks"}
    layout = {**DARK, "height": 46, "margin": {"l": 10, "r": 10, "t": 4, "b": 4}, "showlegend": False,
              "xaxis": {"showticklabels": False, "showgrid": False, "zeroline": False},
              "yaxis": {"visible": False, "range": [0, 1]}, "bargap": 0,
              "dragmode": False, "clickmode": "event+select", "hovermode": "closest"}
    return go.Figure({"data": [trace, marks], "layout": layout}, _validate=False)


def caption(sample_id: int, level: str, true: str, answer: str) -> str:
    if true == answer:
        said = f"**T** = its true {level} *{true}*, also the model's answer"
    else:
        said = f"**T** = its true {level} *{true}*, **P** = the model's wrong answer *{answer}*"
    return f"Depth path of #{sample_id}, its neighbours' {level} vote per layer: {said} · click a cell to open that layer"


HELP = ("One cell per layer, input left, output right: the label the sample's 10 nearest other samples "
        "vote for at that layer (the separability curve's vote), its colour that label's, its strength "
        "the share of the ten that voted so.")


def render(path: str, sample_id: int | None, selected: int, on_layer: Callable[[int], None]) -> None:
    """The strip of the catalog's sample `sample_id`; `on_layer(layer_id)` runs when a cell is clicked."""
    level = cached.depth_level(path)
    if sample_id is None or level is None:
        st.caption("No depth path: this catalog holds no trajectories (rebuild it to get them).")
        return
    truth = cached.truth(path).set_index("sample_id")
    if int(sample_id) not in truth.index:
        return
    row = truth.loc[int(sample_id)]
    true, answer = ((row.label_name, row.class_name) if level == "class" else (row.group_name, row.predicted_group))
    frame = cells(cached.trajectory(path, int(sample_id)), level, str(true), str(answer))
    if frame.empty:
        st.caption("No depth path for this sample.")
        return
    labels = list(cached.samples(path).label_name) if level == "class" else []

    def clicked() -> None:
        layer_id = known_int(clicked_layer(KEY), [int(i) for i in cached.layers(path).layer_id])
        if layer_id is not None:
            on_layer(layer_id)

    plotly_view.draw(figure(frame, colours(list(frame.vote), level, labels), selected), key=KEY, on_click=fragments.page_widget(clicked),
                     config={"displayModeBar": False}, after_lead=True)
    st.caption(caption(int(sample_id), level, str(true), str(answer)), help=HELP)
