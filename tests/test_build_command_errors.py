"""`python -m scripts.build_catalog` on a full disk: one line naming the path, non-zero exit, nothing left."""
from __future__ import annotations

import errno

import pyarrow.parquet as pq

from catalog import load_manifest
from scripts import build_catalog
from tests.test_catalog import write_minimal


class FullDiskWriter:
    def __init__(self, where, *_, **__):
        raise OSError(errno.ENOSPC, "No space left on device", str(where))


def test_a_full_disk_ends_the_build_with_one_line_and_leaves_the_old_catalog(tmp_path, monkeypatch, capsys):
    target = tmp_path / "cat"
    write_minimal(target, "first")
    monkeypatch.setattr(pq, "ParquetWriter", FullDiskWriter)  # the first streamed table fails to open
    code = build_catalog.main(["--weights", "random", "--samples", "2", "--perplexities", "1",
                               "--batch-size", "2", "--out", str(target)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    last = err.strip().splitlines()[-1]  # after the progress bar
    assert last == (f"error: no space left on {tmp_path}: free space there or build into another folder (--out)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cat"]
    assert load_manifest(target)["marker"] == "first"


def test_an_os_error_outside_the_writer_is_one_line_too(tmp_path, monkeypatch, capsys):
    def unreadable(*_, **__):
        raise PermissionError(errno.EACCES, "Permission denied", "/data/images")

    monkeypatch.setattr(build_catalog, "build_catalog", unreadable)
    assert build_catalog.main(["--out", str(tmp_path / "cat")]) == 2
    err = capsys.readouterr().err
    assert err == ("error: permission denied on /data/images (Permission denied): build into a folder you may "
                   "write to (--out) or fix its permissions\n")
