"""What a build stores about depth, on the small real catalog: every sample's 10-NN vote at every layer
(`trajectories`, agreeing exactly with the separability curve), where it settles and is lost
(`settling`, checked against its definition on the stored votes), the layers' CKA (`layer_similarity`),
and the queries a page reads them through (catalog/depth.py)."""
from __future__ import annotations

import json
import shutil
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import catalog
from builder.batch import depth_tables, separability
from catalog import depth
from core.cka import linear_cka
from core.datasets import Sample
from core.errors import CatalogError
from core.imagenet import by_index, group_of


def frame(path, sql):
    return catalog.open(path).execute(sql).df()


def test_the_vote_share_right_per_layer_is_exactly_the_separability(small_catalog):
    path, _ = small_catalog
    layers = frame(path, "SELECT count(*) AS n FROM layers")["n"][0]
    samples = frame(path, "SELECT count(*) AS n FROM samples")["n"][0]
    assert frame(path, "SELECT count(*) AS n FROM trajectories")["n"][0] == layers * samples
    both = frame(path, """
        SELECT r.layer_id, r.knn_accuracy, r.knn_accuracy_group,
               avg((t.vote_class = s.label_idx)::INT)::FLOAT AS classes_right,
               avg((t.vote_group = s.group_name)::INT)::FLOAT AS groups_right
        FROM trajectories t JOIN samples s USING (sample_id) JOIN separability r USING (layer_id)
        GROUP BY ALL ORDER BY r.layer_id""")
    assert len(both) == layers
    np.testing.assert_array_equal(both["classes_right"], both["knn_accuracy"])
    np.testing.assert_array_equal(both["groups_right"], both["knn_accuracy_group"])
    assert both["groups_right"].max() > both["groups_right"].min()  # layers differ: not a constant
    shares = frame(path, "SELECT vote_class_share, vote_group_share FROM trajectories")
    assert shares.min().min() >= 0.1 and shares.max().max() <= 1.0  # k = 10: at least one of the ten


def test_settling_follows_its_definition_on_the_stored_votes(small_catalog):
    path, _ = small_catalog
    votes = frame(path, """SELECT t.sample_id, l.position, t.vote_group FROM trajectories t
                           JOIN layers l USING (layer_id) ORDER BY t.sample_id, l.position""")
    truth = frame(path, """SELECT s.sample_id, s.group_name, p.class_idx FROM samples s
                           JOIN predictions p ON p.sample_id = s.sample_id AND p.rank = 1""")
    settling = frame(path, """SELECT st.*, ls.position AS settled_at, ll.position AS lost_at FROM settling st
                              LEFT JOIN layers ls ON ls.layer_id = st.settled_layer
                              LEFT JOIN layers ll ON ll.layer_id = st.lost_layer""").set_index("sample_id")
    assert set(settling["level"]) == {"group"}  # the bundled sample has one image per class
    assert len(settling) == len(truth)
    settled_some = 0
    for row in truth.itertuples():
        path_votes = list(votes[votes["sample_id"] == row.sample_id]["vote_group"])
        answer = group_of(int(row.class_idx))
        mine = settling.loc[row.sample_id]
        assert mine["correct"] == (answer == row.group_name)
        settled = None if pd.isna(mine["settled_at"]) else int(mine["settled_at"])
        expected = next((i for i in range(len(path_votes)) if all(v == answer for v in path_votes[i:])), None)
        assert settled == expected
        settled_some += settled is not None
        lost = None if pd.isna(mine["lost_at"]) else int(mine["lost_at"])
        if mine["correct"] or path_votes[-1] == row.group_name:
            assert lost is None
        else:
            assert all(v != row.group_name for v in path_votes[lost:])
            assert lost == 0 or path_votes[lost - 1] == row.group_name
    assert settled_some > 0


def test_layer_similarity_is_symmetric_one_on_the_diagonal_and_the_cka_of_the_stored_features(small_catalog):
    path, _ = small_catalog
    matrix = depth.layer_similarity(catalog.open(path))
    names = list(frame(path, "SELECT name FROM layers ORDER BY position")["name"])
    assert list(matrix.index) == names and list(matrix.columns) == names
    values = matrix.to_numpy()
    np.testing.assert_array_equal(values, values.T)
    np.testing.assert_array_equal(np.diag(values), 1.0)
    assert ((values > 0) & (values <= 1.0 + 1e-6)).all()
    first, last = (catalog.load_reference(path, i).features for i in (1, len(names) - 2))
    assert values[1, len(names) - 2] == pytest.approx(linear_cka(first, last), rel=1e-5)
    assert values[1, 2] > values[1, len(names) - 2]  # neighbours in depth are more alike than far ones


def test_the_settled_curve_grows_with_depth_and_ends_at_the_share_settled(small_catalog):
    path, _ = small_catalog
    con = catalog.open(path)
    curve = depth.settled_curve(con)
    assert list(curve["position"]) == sorted(curve["position"])
    assert (np.diff(curve["settled"]) >= 0).all()
    ever = frame(path, "SELECT avg((settled_layer IS NOT NULL)::INT) AS s FROM settling")["s"][0]
    assert curve["settled"].iloc[-1] == pytest.approx(ever)
    assert depth.level(con) == "group"
    lost = depth.lost_earliest(con, limit=50)
    assert list(lost["lost_position"]) == sorted(lost["lost_position"])
    wrong = frame(path, "SELECT sample_id FROM settling WHERE NOT correct AND lost_layer IS NOT NULL")
    assert set(lost["sample_id"]) == set(wrong["sample_id"])
    one = depth.trajectory(con, int(frame(path, "SELECT min(sample_id) AS s FROM samples")["s"][0]))
    assert len(one) == len(curve) and list(one["position"]) == list(curve["position"])
    assert one["vote_class_name"].notna().all()


def test_a_catalog_of_the_previous_schema_gets_one_line(small_catalog, tmp_path):
    path, _ = small_catalog
    old = tmp_path / "old"
    shutil.copytree(path, old)
    manifest = json.loads((old / "manifest.json").read_text())
    (old / "manifest.json").write_text(json.dumps({**manifest, "schema_version": catalog.SCHEMA_VERSION - 1}))
    with pytest.raises(CatalogError, match="rebuild it with python -m scripts.build_catalog") as error:
        catalog.open(old)
    assert "\n" not in str(error.value)


def test_where_classes_repeat_settling_is_read_by_class():
    """Two classes of seven samples in two clusters at every layer (so each sample's ten nearest are its
    own class's six and four others); the model gets sample 2 wrong."""
    rng = np.random.default_rng(0)
    classes = [by_index(1), by_index(2)]  # two fish: the same coarse group
    samples = [Sample(f"s{i}", None, c.wnid, c.index, c.name, j, group_of(c.index))
               for i, (j, c) in enumerate([(0, classes[0])] * 7 + [(1, classes[1])] * 7)]
    centres = np.array([[1.0, 0.0]] * 7 + [[0.0, 1.0]] * 7)
    info = {}
    for layer_id in range(3):
        features = centres + 0.05 * rng.normal(size=centres.shape)
        info[layer_id] = {**separability(features, samples), "features": features}
    top1 = {i: s.label_idx for i, s in enumerate(samples)}
    top1[2] = classes[1].index
    state = SimpleNamespace(kept=list(range(14)), dataset=SimpleNamespace(samples=samples), top1=top1,
                            layers=[SimpleNamespace(layer_id=i) for i in range(3)])
    tables = depth_tables(state, info)
    settling = tables["settling"]
    assert set(settling["level"]) == {"class"}
    assert list(settling["correct"]) == [i != 2 for i in range(14)]
    # every vote is the sample's own class: the right ones settle at the first layer, the wrong one never,
    # and its neighbours keep its true label to the end, so it is not lost either
    assert settling["settled_layer"] == [None if i == 2 else 0 for i in range(14)]
    assert settling["lost_layer"] == [None] * 14
    assert list(tables["trajectories"]["vote_class"]) == [s.label_idx for s in samples] * 3
    np.testing.assert_allclose(tables["trajectories"]["vote_class_share"], 0.6)
    assert set(tables["trajectories"]["vote_group"]) == {samples[0].group_name}
    np.testing.assert_allclose(tables["trajectories"]["vote_group_share"], 1.0)
    cka = np.asarray(tables["layer_similarity"]["cka"]).reshape(3, 3)
    assert np.diag(cka).tolist() == [1.0] * 3 and (cka > 0.9).all()  # the same two clusters at every layer


def test_failures_are_the_misclassified_at_the_level_with_their_labels_at_that_level(small_catalog):
    path, _ = small_catalog
    con = catalog.open(path)
    failed = depth.failures(con)
    wrong = frame(path, "SELECT sample_id FROM settling WHERE NOT correct")
    assert sorted(failed["sample_id"]) == sorted(wrong["sample_id"])
    positions = failed["lost_position"].fillna(10**6).tolist()
    assert positions == sorted(positions)
    assert depth.level(con) == "group"  # one image per class: the failures are wrong coarse groups
    assert (failed["true"] == failed["group_name"]).all() and (failed["true"] != failed["answer"]).all()
    assert list(failed["answer"]) == [group_of(int(i)) for i in frame(path, f"""
        SELECT class_idx FROM predictions WHERE rank = 1 AND sample_id IN ({','.join(map(str, failed.sample_id))})
        ORDER BY array_position({list(map(int, failed.sample_id))}, sample_id)""")["class_idx"]]


def test_a_pairs_confusion_counts_the_samples_of_either_label_voting_for_the_other(small_catalog):
    path, _ = small_catalog
    votes = frame(path, """SELECT t.layer_id, s.group_name, t.vote_group FROM trajectories t
                           JOIN samples s USING (sample_id)""")
    first, second = votes.group_name.value_counts().index[:2]
    curve = depth.pair_confusion(catalog.open(path), first, second)
    for row in curve.itertuples():
        at = votes[(votes.layer_id == row.layer_id) & votes.group_name.isin([first, second])]
        mixed = ((at.group_name == first) & (at.vote_group == second)) | \
                ((at.group_name == second) & (at.vote_group == first))
        assert row.n == len(at) and row.confusion == pytest.approx(mixed.mean())
    assert depth.pair_confusion(catalog.open(path), "no such group", "nor this")["n"].sum() == 0
