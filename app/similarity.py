"""Layer similarity as a clickable heatmap: linear CKA of every layer of one network (rows) against
every layer of the same or another one (columns); a click on a cell hands back that pair of layers."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from app.browser_values import known_int
from app.charts import DARK, DARK_BLUES, cell_overlay, selected_points


def heatmap(cka: np.ndarray, rows: list[tuple[int, str]], columns: list[tuple[int, str]],
            row_title: str, column_title: str, marked: tuple[int, int] | None = None) -> go.Figure:
    """`cka` (len(rows), len(columns)); rows and columns: (layer_id, name) in network order, input first.
    Every cell carries its two layer ids for a click; `marked` (row id, column id) is framed."""
    row_names, column_names = [n for _, n in rows], [n for _, n in columns]
    values = np.asarray(cka, dtype=float)
    z = [[None if np.isnan(v) else round(float(v), 3) for v in row] for row in values]
    data = [{"type": "heatmap", "z": z, "x": column_names, "y": row_names, "zmin": 0, "zmax": 1,
             "colorscale": DARK_BLUES, "colorbar": {"thickness": 10, "title": {"text": "CKA"}},
             "hoverinfo": "skip"}]
    cells = [(r, c) for r in range(len(rows)) for c in range(len(columns))]
    data.append(cell_overlay([column_names[c] for _, c in cells], [row_names[r] for r, _ in cells],
                             [[rows[r][0], columns[c][0], z[r][c]] for r, c in cells],
                             f"{row_title}: %{{y}}<br>{column_title}: %{{x}}<br>CKA %{{customdata[2]:.3f}}"
                             "<br>click: show both layers<extra></extra>"))
    if marked is not None:
        at = [(r, c) for r, c in cells if (rows[r][0], columns[c][0]) == tuple(marked)]
        if at:
            r, c = at[0]
            data.append({"type": "scatter", "x": [column_names[c]], "y": [row_names[r]], "mode": "markers",
                         "hoverinfo": "skip", "showlegend": False, "name": "chosen pair",
                         "marker": {"symbol": "square-open", "size": 14, "color": "#ff4b4b", "line": {"width": 2}}})
    side = max(320, min(760, 16 * max(len(rows), len(columns)) + 160))
    layout = {**DARK, "height": side, "margin": {"l": 10, "r": 10, "t": 10, "b": 10}, "showlegend": False,
              "xaxis": {"title": {"text": column_title}, "tickangle": -60, "tickfont": {"size": 9}},
              "yaxis": {"title": {"text": row_title}, "autorange": "reversed", "tickfont": {"size": 9}},
              "clickmode": "event+select", "dragmode": False, "hovermode": "closest"}
    return go.Figure({"data": data, "layout": layout}, _validate=False)


def clicked_pair(key: str, row_ids, column_ids) -> tuple[int, int] | None:
    """The (row layer id, column layer id) of the cell clicked on the heatmap with this widget key; None
    when none is, or when the browser sent ids that are not the heatmap's layers."""
    points = selected_points(key)
    custom = points[0].get("customdata") if points and isinstance(points[0], dict) else None
    if not isinstance(custom, (list, tuple)) or len(custom) < 2:
        return None
    row, column = known_int(custom[0], row_ids), known_int(custom[1], column_ids)
    return None if row is None or column is None else (row, column)
