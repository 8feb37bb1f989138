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
