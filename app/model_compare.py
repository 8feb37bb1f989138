"""Compare models: two catalogs' layers by linear CKA on the images they share (catalog/compare.py, as
`python -m scripts.compare_models`), and a chosen pair of layers as two data maps side by side, the
samples selected on either ringed on both (matched by key)."""
from __future__ import annotations

from functools import partial
from pathlib import Path

import streamlit as st

from app import cached, datamap, plotly_view, similarity
from app.browser_values import known_ids
from app.charts import selected_sample_ids
from app.view import View
from catalog.activation_cache import build_id
from catalog.compare import MIN_MATCHED, Comparison, compare_catalogs

HEATMAP_KEY = "models_chart"
FEWEST_SHARED = 3  # below this CKA is not defined; below MIN_MATCHED the page warns that it says little


@st.cache_data(show_spinner="Comparing the layers…", max_entries=16)
def comparison(path_a: str, path_b: str, build_a: str, build_b: str) -> Comparison:
    """The CKA of every layer pair, computed once per pair of catalog builds (the build ids key the cache,
    so a rebuilt catalog is compared afresh)."""
    return compare_catalogs(Path(path_a), Path(path_b), min_matched=FEWEST_SHARED)


def compare(path_a: str, path_b: str) -> Comparison:
    """`comparison` of two catalog folders, keyed by their current builds; CatalogError where they share
    too few images."""
    return comparison(path_a, path_b, build_id(cached.manifest(path_a)), build_id(cached.manifest(path_b)))


def shared_note(result: Comparison, name_a: str, name_b: str) -> str:
    note = (f"{result.matched} images shared by key ({name_a}: {result.n_a}, {name_b}: {result.n_b}).")
    if result.matched < MIN_MATCHED:
        note += f" Fewer than {MIN_MATCHED}: the similarities say little about the layers' geometry."
    return note


def render_heatmap(result: Comparison, name_a: str, name_b: str) -> None:
    rows = [(int(i), str(n)) for i, n in zip(result.layers_a.layer_id, result.layers_a.name)]
    columns = [(int(i), str(n)) for i, n in zip(result.layers_b.layer_id, result.layers_b.name)]

    def clicked() -> None:
        pair = similarity.clicked_pair(HEATMAP_KEY, [i for i, _ in rows], [i for i, _ in columns])
        if pair is not None:
            st.session_state.models_pair = pair

    with st.container(key="models_box"):
        plotly_view.draw(similarity.heatmap(result.cka, rows, columns, f"A: {name_a}", f"B: {name_b}",
                                            st.session_state.get("models_pair")),
                         key=HEATMAP_KEY, on_click=clicked, config={"displayModeBar": False})


def _keys_of(path: str, ids: list[int]) -> set[str]:
    table = cached.samples(path)
    return set(table[table.sample_id.isin(ids)].key)


def _ids_with(path: str, keys: set[str]) -> tuple[int, ...]:
    table = cached.samples(path)
    return tuple(sorted(int(i) for i in table[table.key.isin(keys)].sample_id))


def _on_select(path: str, key: str) -> None:
    # only the catalog's ids, and no more than it has: the selection comes from the browser
    ids = known_ids(selected_sample_ids(key), cached.sample_ids(path)) or []
    st.session_state.models_keys = sorted(_keys_of(path, ids))


def _map_view(path: str, layer_id: int, method: str, colour_by: str) -> View:
    perplexities = cached.perplexities(path)
    if method == "tsne" and perplexities:
        requested, used = perplexities[len(perplexities) // 2]
        return View(catalog=path, layer_id=layer_id, method="tsne", perplexity_requested=requested,
                    perplexity_used=used, colour_by=colour_by)
    return View(catalog=path, layer_id=layer_id, method="pca", colour_by=colour_by)


def render_maps(paths: tuple[str, str], pair: tuple[int, int], method: str) -> None:
    """The two layers' data maps side by side; a box or lasso on either rings the same images on both."""
    keys = set(st.session_state.get("models_keys") or [])
    st.caption(f"Select points (box or lasso) on either map: the same images are ringed on both. "
               f"{len(keys)} linked images.")
    if keys:
        st.button("Clear the linked images", key="models_clear", on_click=st.session_state.update,
                  kwargs={"models_keys": []})
    for column, path, layer_id, side in zip(st.columns(2), paths, pair, ("a", "b")):
        with column:
            table = cached.layers(path)
            name = str(table[table.layer_id == layer_id].name.iloc[0])
            colour_by = "coarse group" if cached.one_image_per_class(path) else "class"
            spec = datamap.figure_spec(_map_view(path, layer_id, method, colour_by), name,
                                       highlight=_ids_with(path, keys) or None, dragmode="lasso", height=420)
            key = f"models_{side}_chart"
            st.markdown(f"**{side.upper()}**: {Path(path).name} · {name}")
            with st.container(key=f"models_{side}_box"):
                datamap.draw({**spec, "layout": {**spec["layout"], "showlegend": False}}, key=key,
                             config=datamap.LINKED_CONFIG, on_select=partial(_on_select, path, key))
