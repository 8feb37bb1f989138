"""Values that arrive from the browser, checked before the app keeps or uses them.

Hover, click and select events, the data map's visible ranges, the layer map's layer, a chart's clicked point and the URL all come from
a visitor's browser, which can send any JSON. An id the catalog lacks, a value of the wrong type or a
selection of millions of ids is ignored here (None, or only the known ids), so it can neither raise in
every later run of that session nor be stored and cost the server on each of them.
"""
from __future__ import annotations

import math
from collections.abc import Collection

_MAX_COORDINATE = 1e12  # a map coordinate beyond this is no view of a map (t-SNE and PCA stay far below)
_MAX_DIGITS = 18  # an id written as text: longer is not an id (and int() of thousands of digits is slow)


def as_int(value) -> int | None:
    """`value` as an int when it is one: an int (not a bool), an integral float, or short decimal text."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str) and 0 < len(value.strip()) <= _MAX_DIGITS:
        try:
            return int(value)
        except ValueError:
            return None
    return None


def known_int(value, allowed: Collection[int]) -> int | None:
    """`value` as an int when it is one of `allowed` (a layer id, a sample id), else None."""
    number = as_int(value)
    return number if number is not None and number in allowed else None


def known_ids(values, allowed: Collection[int]) -> list[int] | None:
    """The ids of `values` (a list) that are in `allowed`, sorted, once each; None when `values` is no list.

    Only the first len(allowed) entries are looked at: a real selection names each id at most once, so a
    longer list is crafted, and the work stays bounded by the catalog's size."""
    if not isinstance(values, (list, tuple)):
        return None
    found = {number for number in map(as_int, values[:len(allowed)]) if number is not None and number in allowed}
    return sorted(found)


def int_list(value, most: int) -> list[int] | None:
    """The ints of `value` (a list), sorted, once each, the first `most` entries looked at (a chart's
    selected ids, before they meet the catalog's: `known_ids`); None when `value` is no list."""
    if not isinstance(value, (list, tuple)):
        return None
    return sorted({number for number in map(as_int, value[:most]) if number is not None})


def channel_in(value, channels: int) -> int | None:
    """`value` as a channel index of a layer with `channels` channels, else None."""
    number = as_int(value)
    return number if number is not None and 0 <= number < channels else None


def int_between(value, low: int, high: int) -> int | None:
    """`value` as an int from `low` to `high` (a size in pixels), else None."""
    number = as_int(value)
    return number if number is not None and low <= number <= high else None


def finite_range(value) -> tuple[float, float] | None:
    """`value` as an axis range (low, high): two finite numbers (not bools) of positive span, within
    +-1e12, in either order; None for anything else."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        return None
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value):
        return None
    low, high = sorted(float(v) for v in value)
    if not all(math.isfinite(v) and abs(v) <= _MAX_COORDINATE for v in (low, high)) or high <= low:
        return None
    return low, high


def short_texts(value, most: int, longest: int) -> frozenset[str]:
    """The strings of `value` (a list) of at most `longest` characters, the first `most` entries looked
    at (trace names hidden by a legend click); empty for anything else."""
    if not isinstance(value, (list, tuple)):
        return frozenset()
    return frozenset(v for v in value[:most] if isinstance(v, str) and len(v) <= longest)


_MAX_POINTS = 8  # a click reports the points under the pointer: a handful at most
_MAX_TEXT = 200  # a label (a class, a layer's name) is short
_MAX_CUSTOM = 8  # a point's customdata row: an id, a name, a value or two


def plot_points(value) -> list[dict]:
    """A chart's clicked points as the browser reported them (a list of {curveNumber, pointNumber,
    customdata, x, y}), as Streamlit's chart reports a selection's points: curve_number, point_number,
    point_index (an int; a heatmap cell's [row, column] gives its column), customdata (a short text, a
    finite number, or a short list of those), x and y (a short text or a finite number). A point without
    an integer curveNumber is dropped, a value of another kind becomes None; no list gives []."""
    if not isinstance(value, list):
        return []
    points = []
    for point in value[:_MAX_POINTS]:
        if not isinstance(point, dict) or (curve := as_int(point.get("curveNumber"))) is None:
            continue
        number = point.get("pointNumber")
        cell = number if isinstance(number, list) and len(number) == 2 else None
        index = as_int(cell[1] if cell else number)
        custom = point.get("customdata")
        if isinstance(custom, list):
            custom = [_scalar(v) for v in custom[:_MAX_CUSTOM]] if len(custom) <= _MAX_CUSTOM else None
        else:
            custom = _scalar(custom)
        points.append({"curve_number": curve, "point_number": index, "point_index": index, "customdata": custom,
                       "x": _scalar(point.get("x")), "y": _scalar(point.get("y"))})
    return points


def _scalar(value):
    """`value` when it is a short text or a finite number (not a bool), else None."""
    if isinstance(value, str):
        return value if len(value) <= _MAX_TEXT else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, int):
        return value if abs(value) <= 10**_MAX_DIGITS else None
    return value if math.isfinite(value) else None
