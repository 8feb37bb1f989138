"""Catalog-wide questions, checked against the raw tables."""
import pyarrow.parquet as pq

import catalog
from catalog import insights


def test_channel_top_samples_are_the_highest_means(small_catalog):
    path, _ = small_catalog
    con = catalog.open(path)
    channels = pq.read_table(path / "channels.parquet").to_pandas()
    chosen = channels[(channels.layer_id == 3) & (channels.channel == 2)].sort_values("mean", ascending=False)
    top = insights.channel_top_samples(con, 3, 2)
    assert list(top["sample_id"]) == list(chosen["sample_id"][:9])
    assert list(top["mean"]) == sorted(top["mean"], reverse=True)


def test_class_channel_means_average_over_the_class(small_catalog):
    path, _ = small_catalog
    con = catalog.open(path)
    table = insights.class_channel_means(con, 1, by="group")
    channels = pq.read_table(path / "channels.parquet").to_pandas()
    samples = pq.read_table(path / "samples.parquet").to_pandas()
    merged = channels[channels.layer_id == 1].merge(samples, on="sample_id")
    expected = merged.groupby(["group_name", "channel"])["mean"].mean().unstack()
    assert table.shape == expected.shape
    assert abs(table.values - expected.values).max() < 1e-5


def test_confusions_count_every_mistake(small_catalog):
    path, manifest = small_catalog
    con = catalog.open(path)
    frame = insights.predictions_with_truth(con)
    wrong = int((~frame["correct"]).sum())
    assert wrong == round(manifest["n_samples"] * (1 - manifest["top1_accuracy"]))
    assert insights.most_confused_pairs(con, limit=100)["n"].sum() == wrong
    matrix = insights.confusion_matrix(con, by="class")
    assert matrix.values.sum() == manifest["n_samples"]
    diagonal = sum(matrix.loc[c, c] for c in matrix.index if c in matrix.columns)
    assert diagonal == manifest["n_samples"] - wrong


def test_selection_summary(small_catalog):
    con = catalog.open(small_catalog[0])
    frame = insights.predictions_with_truth(con)
    ids = list(frame["sample_id"][:5])
    summary = insights.selection_summary(con, ids)
    assert summary["n"] == 5 and sum(summary["classes"].values()) == 5
    assert summary["accuracy"] == frame["correct"][:5].mean()
    assert insights.selection_summary(con, [])["accuracy"] is None


def test_separability_shows_the_class_figure_only_where_classes_repeat(small_catalog, tmp_path):
    import shutil

    from catalog import queries
    path, manifest = small_catalog
    frame, by = queries.separability(catalog.open(path))
    stored = pq.read_table(path / "separability.parquet").to_pandas()
    assert by == "coarse group"  # the bundled sample has one image per class
    assert len(frame) == manifest["n_layers"] and list(frame.position) == sorted(frame.position)
    expected = stored.set_index("layer_id").knn_accuracy_group
    assert list(frame.accuracy) == [expected[i] for i in frame.layer_id]
    # two samples of one class: now the class figure means something, and it is the one shown
    copy = tmp_path / path.name
    shutil.copytree(path, copy)
    samples = pq.read_table(copy / "samples.parquet")
    names = samples.column("label_name").to_pylist()
    names[1] = names[0]
    index = samples.schema.get_field_index("label_name")
    pq.write_table(samples.set_column(index, samples.schema.field(index), [names]), copy / "samples.parquet")
    frame, by = queries.separability(catalog.open(copy))
    assert by == "class"
    expected = stored.set_index("layer_id").knn_accuracy
    assert list(frame.accuracy) == [expected[i] for i in frame.layer_id]
