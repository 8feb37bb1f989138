"""The catalog appears complete or not at all, and reads back through a locked-down DuckDB."""
import json
import os
import shutil
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

import catalog
from catalog import sql
from catalog.schema import MANIFEST, SCHEMA_VERSION, TABLES
from catalog.writer import CatalogWriter, recover
from core.errors import CatalogError
from tests.paths import CATALOG_DIR_ENV, REPO

DEAD_PID = 2 ** 22 + 12345  # above the default pid_max: never a live process


def write_minimal(target, marker="first"):
    writer = CatalogWriter(target)
    for name, schema in TABLES.items():
        writer.write(name, schema.empty_table())
    writer.save_reference(0, {"features": __import__("numpy").zeros((1, 2))})
    return writer.commit({"schema_version": SCHEMA_VERSION, "marker": marker})


def test_float_statistics_are_stored_byte_stream_split_and_read_back_exactly(tmp_path):
    """Byte-stream-split float columns make the channel statistics about a quarter smaller, losslessly."""
    import numpy as np
    import pyarrow.parquet as pq
    rng = np.random.default_rng(0)
    rows = {"sample_id": np.repeat(np.arange(50, dtype=np.int32), 40), "layer_id": np.zeros(2000, np.int32),
            "channel": np.tile(np.arange(40, dtype=np.int32), 50)}
    rows |= {name: rng.normal(size=2000).astype(np.float32) for name in ("mean", "entropy", "score")}
    writer = CatalogWriter(tmp_path / "c")
    for name, schema in TABLES.items():
        if name != "channels":
            writer.write(name, schema.empty_table())
    writer.append("channels", rows)
    writer.append("channels", rows)
    writer.commit({"schema_version": SCHEMA_VERSION})
    stored = pq.ParquetFile(tmp_path / "c" / "channels.parquet").metadata.row_group(0)
    encodings = {stored.column(i).path_in_schema: stored.column(i).encodings for i in range(stored.num_columns)}
    assert all("BYTE_STREAM_SPLIT" in encodings[name] for name in ("mean", "entropy", "score")), encodings
    got = catalog.open(tmp_path / "c").execute("SELECT score FROM channels LIMIT 2000").fetchnumpy()["score"]
    np.testing.assert_array_equal(got, rows["score"])


def test_commit_swaps_in_a_complete_catalog(tmp_path):
    target = tmp_path / "c"
    write_minimal(target, "first")
    write_minimal(target, "second")
    assert catalog.load_manifest(target)["marker"] == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]  # no staging or set-aside folders left


def test_an_unfinished_build_leaves_the_old_catalog_and_is_cleaned_up(tmp_path):
    target = tmp_path / "c"
    write_minimal(target, "first")
    writer = CatalogWriter(target)
    writer.append("channels", {name: [] for name in TABLES["channels"].names})
    staging = writer.staging
    dead = staging.with_name(f".c.tmp-0123abcd-{DEAD_PID}")
    staging.rename(dead)  # as if the process had been killed
    assert catalog.load_manifest(target)["marker"] == "first"
    recover(target)
    assert not dead.exists()


def test_killed_between_the_two_renames_restores_the_old_catalog(tmp_path):
    target = tmp_path / "c"
    write_minimal(target, "first")
    target.rename(tmp_path / f".c.old-0123abcd-{DEAD_PID}")
    recover(target)
    assert catalog.load_manifest(target)["marker"] == "first"


def test_a_killed_builds_leftover_is_removed_even_when_its_pid_is_alive_again(tmp_path):
    """In a container every build may be PID 1: a leftover carrying a live PID is still a dead build's."""
    target = tmp_path / "c"
    write_minimal(target, "first")
    leftover = tmp_path / f".c.tmp-0123abcd-{os.getpid()}"
    (leftover / "reference").mkdir(parents=True)
    (leftover / "channels.parquet").write_bytes(b"x" * 1000)
    write_minimal(target, "second")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]


def test_a_swap_killed_between_its_renames_is_restored_when_the_catalog_is_opened(tmp_path):
    target = tmp_path / "c"
    write_minimal(target, "first")
    target.rename(tmp_path / f".c.old-0123abcd-{os.getpid()}")  # the PID of a live process, as in a container
    assert catalog.open(target).execute("SELECT count(*) FROM samples").fetchone() == (0,)
    assert catalog.load_manifest(target)["marker"] == "first"
    target.rename(tmp_path / f".c.old-4567cdef-{os.getpid()}")
    catalog.find_catalogs(tmp_path)  # the app's list of catalogs restores it too
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]
    assert catalog.load_manifest(target)["marker"] == "first"


def test_the_sql_command_restores_a_catalog_whose_swap_was_killed(tmp_path, capsys):
    target = tmp_path / "c"
    write_minimal(target, "first")
    target.rename(tmp_path / f".c.old-0123abcd-{os.getpid()}")
    assert sql.main([str(target), "SELECT count(*) AS n FROM samples"]) == 0
    assert capsys.readouterr().out.splitlines() == ["n", "0"]


def test_a_live_builds_staging_folder_is_kept_until_the_build_is_killed(tmp_path):
    """The claim is a lock the kernel drops when its process dies, so recovery waits for exactly that."""
    target = tmp_path / "c"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom catalog.staging import Claim\n"
                               f"Claim({str(target)!r})\nprint('claimed', flush=True)\ntime.sleep(600)"],
        cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "claimed"
        staging = next(tmp_path.glob(".c.tmp-*"))
        write_minimal(target, "first")  # another build of the same catalog meanwhile
        catalog.find_catalogs(tmp_path)
        assert staging.exists()
    finally:
        holder.kill()
        holder.wait()
    catalog.find_catalogs(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]


def test_two_builds_of_one_catalog_in_one_process_do_not_collide(tmp_path):
    target = tmp_path / "c"
    first, second = CatalogWriter(target), CatalogWriter(target)  # e.g. two app sessions
    assert first.staging != second.staging and first.staging.exists() and second.staging.exists()
    for writer, marker in ((first, "first"), (second, "second")):
        for name, schema in TABLES.items():
            writer.write(name, schema.empty_table())
        writer.commit({"schema_version": SCHEMA_VERSION, "marker": marker})
    assert catalog.load_manifest(target)["marker"] == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]


def test_commit_refuses_a_catalog_with_missing_tables(tmp_path):
    writer = CatalogWriter(tmp_path / "c")
    writer.write("samples", TABLES["samples"].empty_table())
    with pytest.raises(RuntimeError, match="never written"):
        writer.commit({"schema_version": SCHEMA_VERSION})
    assert not (tmp_path / "c").exists()


def test_open_refuses_what_is_not_a_catalog(tmp_path):
    with pytest.raises(CatalogError, match="not a LayerScope catalog"):
        catalog.open(tmp_path)
    (tmp_path / MANIFEST).write_text(json.dumps({"schema_version": 999}))
    with pytest.raises(CatalogError, match="rebuild"):
        catalog.open(tmp_path)


def test_views_have_the_documented_columns(small_catalog):
    path, _ = small_catalog
    con = catalog.open(path)
    documented = {
        "samples": {"sample_id", "wnid", "label_idx", "label_name", "group_name", "path"},
        "predictions": {"sample_id", "rank", "class_idx", "class_name", "prob"},
        "layers": {"layer_id", "position", "name", "kind", "channels", "height", "width"},
        "embeddings": {"sample_id", "layer_id", "method", "perplexity", "x", "y"},
        "channels": {"sample_id", "layer_id", "channel", "mean", "entropy", "score"},
        "trajectories": {"sample_id", "layer_id", "vote_class", "vote_class_share", "vote_group", "vote_group_share"},
        "settling": {"sample_id", "level", "correct", "settled_layer", "lost_layer"},
        "layer_similarity": {"layer_a", "layer_b", "cka"},
        "thumbnails": {"sample_id", "thumb"},
        "clusters": {"layer_id", "method", "perplexity", "cluster", "label", "purity", "size", "x", "y"},
        "cluster_members": {"sample_id", "layer_id", "method", "perplexity", "cluster"},
    }
    for view, columns in documented.items():
        got = {row[0] for row in con.execute(f"DESCRIBE {view}").fetchall()}
        assert columns <= got, view
        assert con.execute(f"SELECT count(*) FROM {view}").fetchone()[0] > 0


@pytest.mark.parametrize("query", [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM glob('/etc/*')",
])
def test_connection_cannot_read_other_files(small_catalog, query):
    con = catalog.open(small_catalog[0])
    with pytest.raises(Exception, match="[Pp]ermission"):
        con.execute(query).fetchall()


@pytest.mark.parametrize("query, refused", [
    ("DROP VIEW samples", "DROP"),
    ("COPY samples TO '/tmp/x.csv'", "COPY"),
    ("ATTACH '/tmp/x.db'", "ATTACH"),
    ("SET enable_external_access = true", "SET"),
    ("INSTALL httpfs", ""),
    ("CREATE TABLE t AS SELECT 1", "CREATE"),
    ("SELECT 1; SELECT 2", "exactly one"),
])
def test_sql_command_refuses_everything_but_one_select(small_catalog, capsys, query, refused):
    assert sql.main([str(small_catalog[0]), query]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and refused in err


def test_sql_command_prints_a_result(small_catalog, capsys):
    path, manifest = small_catalog
    assert sql.main([str(path), "SELECT count(*) AS n FROM samples"]) == 0
    assert capsys.readouterr().out.splitlines() == ["n", str(len(pq.read_table(path / "samples.parquet")))]


def test_find_catalogs_skips_incomplete_folders(small_catalog, tmp_path):
    shutil.copytree(small_catalog[0], tmp_path / "good")
    (tmp_path / "half").mkdir()
    (tmp_path / ".good.tmp-1").mkdir()
    assert [p.name for p, _ in catalog.find_catalogs(tmp_path)] == ["good"]


def test_catalog_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(CATALOG_DIR_ENV, raising=False)
    assert catalog.default_root().name == "catalogs"
    monkeypatch.setenv(CATALOG_DIR_ENV, str(tmp_path))
    assert catalog.default_root() == tmp_path


def test_sql_queries_have_a_time_limit_and_a_row_limit(small_catalog, capsys):
    path = str(small_catalog[0])
    assert sql.main([path, "SELECT count(*) FROM range(100000000000) a", "--time-limit", "0.5"]) == 2
    assert "longer than 0.5 s" in capsys.readouterr().err
    assert sql.main([path, "SELECT * FROM range(100)", "--max-rows", "7"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1 + 7


def test_recovery_leaves_another_catalogs_leftovers_alone(tmp_path):
    """`.cat.v2.old-...` is the only copy of `cat.v2` after a crash mid-swap: building `cat` keeps it."""
    theirs = tmp_path / f".cat.v2.old-0123abcd-{DEAD_PID}"
    write_minimal(theirs, "cat.v2")
    odd = tmp_path / f".cat.old-notatoken-{DEAD_PID}"  # not the shape this writer makes: not touched
    odd.mkdir()
    ours = tmp_path / f".cat.tmp-0123abcd-{DEAD_PID}"
    ours.mkdir()
    write_minimal(tmp_path / "cat", "first")
    assert catalog.load_manifest(theirs)["marker"] == "cat.v2" and odd.exists()
    assert not ours.exists()
    recover(tmp_path / "cat.v2")  # its own build restores it
    assert catalog.load_manifest(tmp_path / "cat.v2")["marker"] == "cat.v2"


def test_a_full_disk_removes_the_staging_folder_and_names_the_path(tmp_path, monkeypatch):
    import errno

    from catalog import writer as writer_module

    write_minimal(tmp_path / "c", "first")

    def full_disk(*_, **__):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(writer_module.pq, "write_table", full_disk)
    with pytest.raises(writer_module.CatalogWriteError, match=f"no space left on {tmp_path}: free space"):
        write_minimal(tmp_path / "c", "second")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]
    assert catalog.load_manifest(tmp_path / "c")["marker"] == "first"


def test_a_failed_swap_puts_the_previous_catalog_back(tmp_path, monkeypatch):
    import errno
    from pathlib import Path

    from catalog.writer import CatalogWriteError

    write_minimal(tmp_path / "c", "first")
    real_rename = Path.rename

    def refuse_staging(self, target):
        if self.name.startswith(".c.tmp-"):
            raise OSError(errno.EACCES, "Permission denied", str(self))
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", refuse_staging)
    with pytest.raises(CatalogWriteError, match="permission denied on .*--out"):
        write_minimal(tmp_path / "c", "second")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]
    assert catalog.load_manifest(tmp_path / "c")["marker"] == "first"


def test_the_sql_command_prints_float32_values_as_stored_not_widened(tmp_path, capsys):
    """A float32 column (x, y, confidences) prints 95.2, not the float64 widening 95.19999694824219."""
    target = tmp_path / "c"
    write_minimal(target, "first")
    query = "SELECT CAST(95.2 AS FLOAT) AS f, CAST(0.1 AS FLOAT) AS g, CAST(NULL AS FLOAT) AS h, 95.2::DOUBLE AS d"
    assert sql.main([str(target), query]) == 0
    assert capsys.readouterr().out.splitlines() == ["f\tg\th\td", "95.2\t0.1\t\t95.2"]
