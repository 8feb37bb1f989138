"""What a visitor of a public deployment reads when something is missing: never a path of the server."""
from __future__ import annotations

import shutil

import pyarrow as pa
import pyarrow.parquet as pq

from app import cached, catalogs, settings


def test_messages_name_the_folder_for_the_owner_and_no_path_for_visitors(monkeypatch, tmp_path):
    monkeypatch.setenv("LAYERSCOPE_CATALOG_DIR", str(tmp_path / "owner-catalogs"))
    monkeypatch.delenv(settings.PUBLIC_ENV, raising=False)
    assert str(tmp_path / "owner-catalogs") in catalogs.none_found()
    broken = str(tmp_path / "owner-catalogs" / "cat")
    assert broken in catalogs.unreadable(broken, ValueError("bad footer"))
    monkeypatch.setenv(settings.PUBLIC_ENV, "1")
    assert str(tmp_path) not in catalogs.none_found()
    message = catalogs.unreadable(broken, ValueError("bad footer"))
    assert "cat" in message and str(tmp_path) not in message and "bad footer" not in message


def test_the_pick_list_offers_only_files_the_server_can_read(small_catalog, tmp_path):
    """A published catalog keeps relative paths: images that are not on this server are not offered."""
    path, _ = small_catalog
    copy = tmp_path / path.name
    shutil.copytree(path, copy)
    table = pq.read_table(copy / "samples.parquet")
    paths = table.column("path").to_pylist()
    keys = table.column("key").to_pylist()
    paths[:5] = [f"gone/{key}.jpg" for key in keys[:5]]
    table = table.set_column(table.schema.get_field_index("path"), "path", pa.array(paths, pa.string()))
    pq.write_table(table, copy / "samples.parquet")
    assert set(cached.readable_keys(str(copy))) == set(keys[5:])
