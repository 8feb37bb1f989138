"""Publishing a catalog for a public deployment: small files, no paths of the build machine, same data."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import catalog
from catalog.layout import reference_layer_ids
from catalog.reader import load_reference_arrays
from catalog.publish import public_manifest, public_path, publish
from core.errors import CatalogError
from scripts import publish as publish_command

TINY_CAP = 200_000  # bytes: forces the images table and the larger references into parts (one row is ~45 kB)


@pytest.fixture(scope="module")
def published_tiny(small_catalog, tmp_path_factory):
    root = tmp_path_factory.mktemp("published")
    return publish(small_catalog[0], name="tiny", root=root, max_file_bytes=TINY_CAP)


def test_a_tiny_size_cap_splits_tables_and_every_file_stays_under_it(published_tiny):
    files = published_tiny.files
    assert all(size <= TINY_CAP for size in files.values()), files
    assert any(name.startswith("images/part-") for name in files)
    assert not (published_tiny.path / "images.parquet").exists()
    assert any(".part-" in name for name in files if name.startswith("reference/"))


def test_the_reader_returns_every_row_of_a_split_table(small_catalog, published_tiny):
    source, copy = catalog.open(small_catalog[0]), catalog.open(published_tiny.path)
    for table in ("images", "embeddings", "channels", "explanations", "predictions", "layers", "thumbnails",
                  "clusters", "cluster_members"):
        query = f"SELECT * FROM {table} ORDER BY ALL"
        assert copy.execute(query).fetchall() == source.execute(query).fetchall(), table
    ids = "SELECT sample_id, key, label_name FROM samples ORDER BY sample_id"
    assert copy.execute(ids).fetchall() == source.execute(ids).fetchall()


def test_a_published_catalog_answers_the_map_picture_queries_as_its_source(small_catalog, published_tiny):
    from catalog import pictures
    source, copy = catalog.open(small_catalog[0]), catalog.open(published_tiny.path)
    ids = [row[0] for row in source.execute("SELECT sample_id FROM samples").fetchall()]
    assert pictures.thumbnails(copy, ids) == pictures.thumbnails(source, ids) and len(ids) > 0
    for method, perplexity in (("pca", None), ("tsne", 3.0)):
        assert pictures.clusters(copy, 5, method, perplexity).equals(pictures.clusters(source, 5, method, perplexity))
        assert pictures.cluster_of_points(copy, 5, method, perplexity).equals(
            pictures.cluster_of_points(source, 5, method, perplexity))


def test_split_references_load_as_the_original_arrays(small_catalog, published_tiny):
    layers = reference_layer_ids(small_catalog[0])
    assert reference_layer_ids(published_tiny.path) == layers
    for layer_id in layers:
        before = load_reference_arrays(small_catalog[0], layer_id)
        after = load_reference_arrays(published_tiny.path, layer_id)
        assert before.keys() == after.keys()
        for key in before:
            np.testing.assert_array_equal(after[key], before[key])


def _bytes(folder) -> dict[str, int]:
    return {f.relative_to(folder).as_posix(): f.stat().st_size for f in folder.rglob("*") if f.is_file()}


def test_a_published_copy_is_smaller_than_its_catalog_and_holds_the_same_values(small_catalog, tmp_path):
    source = small_catalog[0]
    copy = publish(source, name="compact", root=tmp_path).path
    before, after = _bytes(source), _bytes(copy)
    assert sum(after.values()) < sum(before.values()), (before, after)
    assert after["channels.parquet"] < before["channels.parquet"]
    references = [name for name in before if name.startswith("reference/")]
    assert sum(after[n] for n in references) < sum(before[n] for n in references)
    original, published = catalog.open(source), catalog.open(copy)
    for table in ("channels", "embeddings", "predictions", "explanations", "layers", "separability"):
        query = f"SELECT * FROM {table} ORDER BY ALL"
        assert published.execute(query).fetchall() == original.execute(query).fetchall(), table
    for layer_id in reference_layer_ids(source):
        before_arrays, after_arrays = load_reference_arrays(source, layer_id), load_reference_arrays(copy, layer_id)
        for key in before_arrays:
            np.testing.assert_array_equal(after_arrays[key], before_arrays[key])
            assert after_arrays[key].dtype == before_arrays[key].dtype


def test_a_compact_copy_split_under_a_tiny_cap_holds_what_an_unsplit_one_holds(small_catalog, tmp_path):
    """Compacting is the same whatever the cap (WebP and the Grad-CAM grids are deterministic), and the
    float16 reference arrays survive being cut into parts with their type."""
    whole = publish(small_catalog[0], name="whole", root=tmp_path, compact=True)
    split = publish(small_catalog[0], name="split", root=tmp_path, max_file_bytes=TINY_CAP, compact=True)
    assert all(size <= TINY_CAP for size in split.files.values()), split.files
    assert any(name.startswith("images/part-") for name in split.files)
    assert any(".part-" in name for name in split.files if name.startswith("reference/"))
    a, b = catalog.open(whole.path), catalog.open(split.path)
    for table in ("images", "explanations", "channels", "thumbnails"):
        query = f"SELECT * FROM {table} ORDER BY ALL"
        assert b.execute(query).fetchall() == a.execute(query).fetchall(), table
    for layer_id in reference_layer_ids(small_catalog[0]):
        first, second = load_reference_arrays(whole.path, layer_id), load_reference_arrays(split.path, layer_id)
        assert first.keys() == second.keys() and first["features"].dtype == np.float16
        for key in first:
            np.testing.assert_array_equal(second[key], first[key])
            assert second[key].dtype == first[key].dtype


def test_no_absolute_path_of_the_build_machine_is_published(small_catalog, published_tiny):
    source_paths = [p for (p,) in catalog.open(small_catalog[0]).execute("SELECT path FROM samples").fetchall()]
    assert source_paths[0].startswith("/")
    published = catalog.open(published_tiny.path).execute("SELECT key, path FROM samples").fetchall()
    assert all(not path.startswith("/") for _, path in published)
    assert all(path == f"data/sample/{key}.jpg" for key, path in published)  # the bundled sample is in the repo
    machine = str(small_catalog[0].parent).encode()
    for file in published_tiny.path.rglob("*"):
        if file.is_file():
            assert machine not in file.read_bytes(), file


def test_foreign_paths_become_keys_and_file_names():
    assert public_path("/home/me/.cache/imagenette2-160/val/n01440764/x.JPEG", "n01440764/x") == "n01440764/x.JPEG"
    assert public_path("C:\\Users\\me\\vgg16.pth") == "vgg16.pth"
    assert public_path("https://example.org/imagenette2-160.tgz") == "https://example.org/imagenette2-160.tgz"
    manifest = {"dataset": {"source": "/home/me/Downloads/imagenette2-160.tgz", "name": "imagenette"},
                "skipped": [{"key": "n01440764/bad", "path": "/home/me/data/n01440764/bad.png", "reason": "tiny"}]}
    clean = public_manifest(manifest)
    assert clean["dataset"] == {"source": "imagenette2-160.tgz", "name": "imagenette"}
    assert clean["skipped"][0]["path"] == "n01440764/bad.png"
    assert "/home/me" not in json.dumps(clean)


def test_skipped_paths_are_published_as_keys(small_catalog, tmp_path):
    """A catalog whose skipped table names files outside the repository: only their keys go public."""
    import shutil
    copy = tmp_path / "with-skipped"
    shutil.copytree(small_catalog[0], copy)
    skipped = pa.table({"key": ["n01440764/broken"], "path": [str(tmp_path / "data/n01440764/broken.jpg")],
                        "reason": ["truncated"]}, schema=catalog.TABLES["skipped"])
    pq.write_table(skipped, copy / "skipped.parquet")
    result = publish(copy, root=tmp_path / "published")
    rows = catalog.open(result.path).execute("SELECT key, path FROM skipped").fetchall()
    assert rows == [("n01440764/broken", "n01440764/broken.jpg")]


def test_publishing_again_replaces_the_published_copy(small_catalog, tmp_path):
    first = publish(small_catalog[0], name="again", root=tmp_path)
    (first.path / "stray.txt").write_text("left from an older publish")
    second = publish(small_catalog[0], name="again", root=tmp_path)
    assert not (second.path / "stray.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["again"]  # no staging folder left behind


def test_a_name_that_is_not_a_folder_name_is_refused(small_catalog, tmp_path):
    with pytest.raises(CatalogError):
        publish(small_catalog[0], name="../escape", root=tmp_path)


def test_the_command_prints_the_size_and_the_git_commands(small_catalog, tmp_path, capsys):
    publish_command.main([str(small_catalog[0]), "--name", "demo", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "MB in all" in out
    assert f"git add {tmp_path / 'demo'}" in out and "git commit" in out and "git push" in out
    assert catalog.load_manifest(tmp_path / "demo")["published"]["from"] == small_catalog[0].name


def test_the_command_says_what_is_wrong_without_a_traceback(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        publish_command.main([str(tmp_path / "nothing")])
    assert "is not a LayerScope catalog" in str(stop.value.code)


def _minimal_catalog(folder):
    """A complete catalog with empty tables: enough to publish, without a build."""
    from catalog.schema import SCHEMA_VERSION, TABLES
    from catalog.writer import CatalogWriter
    writer = CatalogWriter(folder)
    for name, schema in TABLES.items():
        writer.write(name, schema.empty_table())
    writer.save_reference(0, {"features": np.zeros((1, 2))})
    return writer.commit({"schema_version": SCHEMA_VERSION, "marker": "minimal"})


def test_a_full_disk_ends_the_command_with_one_line_and_leaves_nothing(tmp_path, monkeypatch, capsys):
    import errno

    from catalog import publish as publish_module
    source = _minimal_catalog(tmp_path / "catalogs" / "mini")
    root = tmp_path / "published"
    publish(source, name="demo", root=root)

    def full_disk(*_, **__):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(publish_module.pq, "write_table", full_disk)
    with pytest.raises(SystemExit) as stop:
        publish_command.main([str(source), "--name", "demo", "--out", str(root)])
    assert stop.value.code == f"error: no space left on {root}: free space there or publish into another folder (--out)"
    assert [p.name for p in root.iterdir()] == ["demo"]
    assert catalog.load_manifest(root / "demo")["published"]["from"] == "mini"


def test_a_publish_killed_between_its_renames_is_restored_when_listed(tmp_path):
    import os
    source = _minimal_catalog(tmp_path / "catalogs" / "mini")
    root = tmp_path / "published"
    publish(source, name="demo", root=root)
    (root / "demo").rename(root / f".demo.old-0123abcd-{os.getpid()}")  # no lock held: its publish is gone
    catalog.find_catalogs(root)  # the app's list of catalogs
    assert [p.name for p in root.iterdir()] == ["demo"]
    assert catalog.load_manifest(root / "demo")["published"]["from"] == "mini"
    (root / "demo").rename(root / f".demo.old-4567cdef-{os.getpid()}")
    (root / f".demo.tmp-4567cdef-{os.getpid()}").mkdir()
    publish(source, name="demo", root=root)  # publishing again tidies up too
    assert [p.name for p in root.iterdir()] == ["demo"]
