"""The depth views through AppTest against the small catalog (24 images, one per class, so read by coarse
group): the pinned sample's depth strip, the settled line on the separability chart, the Failures tab,
the layer-similarity heatmap, and the Compare models page; each click checked against what the catalog
holds, and catalogs without depth tables shown without an error."""
from __future__ import annotations

import shutil

import pyarrow as pa
import pyarrow.parquet as pq

import catalog
from catalog import depth
from catalog.schema import TABLES
from tests.apptest_tools import (chart_spec, click_plotly_points, component_data, component_html, page_text,
                                 rerun, select_plotly_ids, send_component)

EXPLORER = "pages/1_Explorer.py"
MODELS = "pages/4_Compare_models.py"


def _frame(path, sql):
    return catalog.open(path).execute(sql).df()


def test_the_depth_strip_shows_the_pinned_samples_votes_and_a_click_opens_a_layer(app_env, app_test):
    at = app_test(EXPLORER)
    con = catalog.open(app_env.path)
    assert depth.level(con) == "group"
    pinned = at.session_state["pinned"]
    path = depth.trajectory(con, pinned)
    truth = _frame(app_env.path, f"SELECT group_name FROM samples WHERE sample_id = {pinned}")["group_name"][0]
    strip, marks = chart_spec(at, "depth_strip_chart")["data"]
    assert [c[0] for c in strip["customdata"]] == [int(i) for i in path.layer_id]  # one cell a layer, in order
    assert [c[2] for c in strip["customdata"]] == list(path.vote_group)
    assert [m == "T" for m in marks["text"]] == [v == truth for v in path.vote_group]
    opacity = strip["marker"]["opacity"]
    assert [a < b for a, b in zip(opacity, opacity[1:])] == \
        [a < b for a, b in zip(path.vote_group_share, path.vote_group_share[1:])]  # stronger share, stronger cell
    target = int(path.layer_id.iloc[3])
    click_plotly_points(at, "depth_strip_chart", [{"point_index": 3, "customdata": strip["customdata"][3]}])
    assert at.session_state["layer_id"] == target
    frame = [c for c in chart_spec(at, "depth_strip_chart")["data"][0]["marker"]["line"]["width"]]
    assert frame.index(max(frame)) == 3  # the opened layer's cell is framed
    click_plotly_points(at, "depth_strip_chart", [{"point_index": 0, "customdata": [10**9, "x"]}])
    assert at.session_state["layer_id"] == target  # an id the catalog lacks changes nothing


def test_the_separability_chart_draws_the_share_settled_by_each_layer(app_env, app_test):
    at = app_test(EXPLORER)
    settled = next(t for t in chart_spec(at, "separability_chart")["data"] if t["name"] == "settled")
    curve = depth.settled_curve(catalog.open(app_env.path))
    assert settled["y"] == [round(float(v), 4) for v in curve.settled]
    assert settled["y"] == sorted(settled["y"])
    assert "share of samples settled" in page_text(at)


def _confusions(at):
    return next(d.value for d in at.dataframe if "separate at" in d.value.columns)


def test_failures_are_the_misclassified_groups_ordered_by_where_they_were_lost(app_env, app_test):
    at = app_test(EXPLORER, tab="Failures")
    wrong = _frame(app_env.path, """
        SELECT st.sample_id, l.position FROM settling st LEFT JOIN layers l ON l.layer_id = st.lost_layer
        WHERE NOT st.correct ORDER BY l.position NULLS LAST, st.sample_id""")
    assert len(wrong) > 0
    html = next(h for h in component_html(at) if "failure-thumbs" in h)
    shown = [int(part.split('"')[0]) for part in html.split('data-sample-id="')[1:]]
    assert shown == list(wrong.sample_id)
    table = _confusions(at)
    assert table["count"].sum() == len(wrong)
    assert "separate at" in table.columns
    # filtered by one true group: only its failures and its confusions
    group = table["true"].iloc[0]
    at.selectbox(key="failures_group").set_value(group)
    rerun(at)
    html = next(h for h in component_html(at) if "failure-thumbs" in h)
    assert html.count("data-sample-id") == int(table[table["true"] == group]["count"].sum())
    assert set(_confusions(at)["true"]) == {group}


def test_a_click_on_a_failure_pins_it_and_frames_it(app_env, app_test):
    at = app_test(EXPLORER, tab="Failures")
    html = next(h for h in component_html(at) if "failure-thumbs" in h)
    shown = [int(part.split('"')[0]) for part in html.split('data-sample-id="')[1:]]
    target = next(i for i in shown if i != at.session_state["pinned"])
    send_component(at, "failure_thumbs", event="pin", value=target)
    assert at.session_state["pinned"] == target
    html = next(h for h in component_html(at) if "failure-thumbs" in h)
    assert f'class="ls-thumb ls-pinned" data-sample-id="{target}"' in html
    send_component(at, "failure_thumbs", event="pin", value=10**9)  # an id the catalog lacks
    assert at.session_state["pinned"] == target


def test_a_confusions_chart_follows_the_stored_votes_and_a_click_opens_a_layer(app_env, app_test):
    at = app_test(EXPLORER, tab="Failures")
    true, predicted = at.selectbox(key="failures_pair").value.split(" → ")
    votes = _frame(app_env.path, f"""
        SELECT l.position, avg(((s.group_name = '{true}' AND t.vote_group = '{predicted}') OR
                                (s.group_name = '{predicted}' AND t.vote_group = '{true}'))::INT) AS mixed
        FROM trajectories t JOIN samples s USING (sample_id) JOIN layers l USING (layer_id)
        WHERE s.group_name IN ('{true}', '{predicted}') GROUP BY 1 ORDER BY 1""")
    line = chart_spec(at, "failures_pair_chart")["data"][0]
    assert line["y"] == [round(float(v), 4) for v in votes.mixed]
    layer = line["customdata"][5][0]
    click_plotly_points(at, "failures_pair_chart", [{"point_index": 5, "customdata": line["customdata"][5]}])
    assert at.session_state["layer_id"] == layer


def test_a_click_on_the_layer_similarity_opens_compare_layers_with_those_two(app_env, app_test):
    at = app_test(EXPLORER, tab="Layer similarity")
    spec = chart_spec(at, "similarity_chart")
    stored = depth.layer_similarity(catalog.open(app_env.path))
    assert spec["data"][0]["z"] == [[round(float(v), 3) for v in row] for row in stored.to_numpy()]
    cells = spec["data"][1]
    assert len(cells["customdata"]) == len(stored) ** 2
    index = next(i for i, c in enumerate(cells["customdata"]) if c[0] != c[1])
    left, right = cells["customdata"][index][:2]
    click_plotly_points(at, "similarity_chart", [{"point_index": index, "customdata": cells["customdata"][index]}])
    assert at.session_state["explorer_tab"] == "Compare layers"
    assert (at.selectbox(key="compare_left").value, at.selectbox(key="compare_right").value) == (left, right)
    rerun(at)  # the opened tab runs with those two
    assert (at.session_state["compare_left"], at.session_state["compare_right"]) == (left, right)


def test_a_click_with_unknown_layers_on_the_similarity_changes_nothing(app_env, app_test):
    at = app_test(EXPLORER, tab="Layer similarity")
    click_plotly_points(at, "similarity_chart", [{"point_index": 0, "customdata": [10**9, "conv", 1]}])
    assert at.session_state["explorer_tab"] == "Layer similarity"


def _without_depth_tables(source, target):
    shutil.copytree(source, target)
    for table in ("trajectories", "settling", "layer_similarity"):
        pq.write_table(pa.Table.from_pylist([], schema=TABLES[table]), target / f"{table}.parquet")
    return target


def test_a_catalog_without_depth_tables_says_so_in_every_depth_view(app_env, app_test, catalog_dir_env, tmp_path):
    folder = tmp_path / "empty-depth"
    folder.mkdir()
    _without_depth_tables(app_env.path, folder / "no-depth")
    catalog_dir_env(folder)
    at = app_test(EXPLORER)
    assert "no trajectories" in page_text(at)
    assert [t["name"] for t in chart_spec(at, "separability_chart")["data"]].count("settled") == 0
    for tab, said in (("Failures", "no depth tables"), ("Layer similarity", "no layer similarity")):
        at.session_state["explorer_tab"] = tab
        rerun(at)
        assert said in " ".join(i.value for i in at.info)


def _two_catalogs(app_env, tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copytree(app_env.path, folder / "model-a")
    shutil.copytree(app_env.path, folder / "model-b")
    return folder


def test_compare_models_shows_the_cka_of_two_catalogs_and_their_linked_maps(app_env, app_test, catalog_dir_env,
                                                                             tmp_path):
    catalog_dir_env(_two_catalogs(app_env, tmp_path))
    at = app_test(MODELS)
    assert {at.selectbox(key="models_a").value, at.selectbox(key="models_b").value} == \
        {str(tmp_path / "models" / "model-a"), str(tmp_path / "models" / "model-b")}
    warned = " ".join(w.value for w in at.warning)  # fewer than the script's minimum: a warning, not a caption
    assert "24 images shared by key" in warned and "Fewer than 50" in warned
    spec = chart_spec(at, "models_chart")
    stored = depth.layer_similarity(catalog.open(app_env.path)).to_numpy()
    z = spec["data"][0]["z"]
    assert len(z) == len(stored) and all(abs(a - b) < 2e-3 for r, s in zip(z, stored) for a, b in zip(r, s))
    cells = spec["data"][1]["customdata"]
    index = next(i for i, c in enumerate(cells) if c[0] != c[1])
    click_plotly_points(at, "models_chart", [{"point_index": index, "customdata": cells[index]}])
    assert tuple(at.session_state["models_pair"]) == tuple(cells[index][:2])
    # a lasso on A's map rings the same images (by key) on B's
    ids = [3, 5, 8]
    select_plotly_ids(at, "models_a_chart", ids)
    for side in ("a", "b"):
        ringed = next(t for t in chart_spec(at, f"models_{side}_chart")["data"] if t["name"] == "highlighted")
        assert sorted(c[0] if isinstance(c, list) else c for c in ringed["customdata"]) == ids


def test_compare_models_ignores_cells_it_did_not_draw(app_env, app_test, catalog_dir_env, tmp_path):
    catalog_dir_env(_two_catalogs(app_env, tmp_path))
    at = app_test(MODELS)
    click_plotly_points(at, "models_chart", [{"point_index": 0, "customdata": [10**9, 0, 1]}])
    assert component_data(at, "models_a_chart") is None  # no maps drawn
    assert not [c for c in at.get("plotly_chart") if c.proto.id.endswith("models_a_chart")]
    assert "Click a cell" in " ".join(i.value for i in at.info)


def test_compare_models_with_too_few_shared_images_says_so_in_one_line(app_env, app_test, catalog_dir_env, tmp_path):
    folder = _two_catalogs(app_env, tmp_path)
    samples = pq.read_table(folder / "model-b" / "samples.parquet")
    keys = [f"other-{k}" if i > 1 else k for i, k in enumerate(samples.column("key").to_pylist())]
    pq.write_table(samples.set_column(samples.schema.get_field_index("key"), "key", pa.array(keys)),
                   folder / "model-b" / "samples.parquet")
    catalog_dir_env(folder)
    at = app_test(MODELS)
    assert len(at.error) == 1 and "share 2 samples by key" in at.error[0].value
    assert "\n" not in at.error[0].value


def test_home_links_compare_models_where_two_catalogs_are_found(app_env, app_test, catalog_dir_env, tmp_path):
    assert not [p for p in app_test("Home.py").get("page_link") if "Compare" in p.proto.label]
    catalog_dir_env(_two_catalogs(app_env, tmp_path))
    links = [p.proto for p in app_test("Home.py").get("page_link") if "Compare" in p.proto.label]
    assert len(links) == 1 and links[0].page == "Compare_models"


def test_about_explains_how_to_read_the_depth_views(app_env, app_test):
    text = page_text(app_test("pages/3_About.py"))
    for view in ("depth strip", "Failures", "Layer similarity", "Compare models", "settled"):
        assert view in text
