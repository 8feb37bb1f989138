"""Downloads land whole or not at all; archives unpack once and safely; offline says what to do."""

import io
import tarfile
from pathlib import Path

import pytest

import core.download as download_module
from core.download import download, extract_tgz
from core.errors import DatasetUnavailable


def _tgz(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_download_file_url_streams_through_part_file(tmp_path, monkeypatch, capsys):
    source = tmp_path / "source.bin"
    source.write_bytes(bytes(range(256)) * 9000)  # > 2 chunks of 1 MiB
    dest = tmp_path / "cache" / "archive.tgz"
    seen_parts: list[bool] = []
    real_stream = download_module._stream

    def spying_stream(response, part, **kwargs):
        real_stream(response, part, **kwargs)
        seen_parts.append(part.name == "archive.tgz.part" and part.exists() and not dest.exists())

    monkeypatch.setattr(download_module, "_stream", spying_stream)
    assert download(source.as_uri(), dest, progress=True) == dest
    assert dest.read_bytes() == source.read_bytes()
    assert seen_parts == [True]
    assert not (dest.parent / "archive.tgz.part").exists()
    assert "archive.tgz" in capsys.readouterr().err  # the tqdm bar


def test_download_quiet_without_progress(tmp_path, capsys):
    source = tmp_path / "s.bin"
    source.write_bytes(b"x" * 100)
    download(source.as_uri(), tmp_path / "d.bin", progress=False)
    assert capsys.readouterr().err == ""


def test_unreachable_url_says_offline_and_names_data_dir(tmp_path):
    dest = tmp_path / "x.tgz"
    with pytest.raises(DatasetUnavailable) as caught:
        download("http://127.0.0.1:9/x.tgz", dest, progress=False)
    message = str(caught.value)
    assert "offline" in message and "--data-dir" in message and "http://127.0.0.1:9/x.tgz" in message
    assert not dest.exists() and not (tmp_path / "x.tgz.part").exists()


def test_missing_file_url_leaves_nothing_behind(tmp_path):
    with pytest.raises(DatasetUnavailable):
        download((tmp_path / "absent.tgz").as_uri(), tmp_path / "out.tgz", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_extract_is_idempotent_via_marker(tmp_path, monkeypatch):
    archive = _tgz(tmp_path / "a.tgz", {"top/val/c/1.txt": b"one", "top/train/c/2.txt": b"two"})
    into = tmp_path / "out"
    assert extract_tgz(archive, into) == into
    assert (into / "top/val/c/1.txt").read_bytes() == b"one"

    def no_reopen(*args, **kwargs):
        raise AssertionError("extracted twice")

    monkeypatch.setattr(download_module.tarfile, "open", no_reopen)
    assert extract_tgz(archive, into) == into


@pytest.mark.parametrize("bad_name", ["../escape.txt", "/abs/escape.txt", "top/../../escape.txt"])
def test_extract_refuses_paths_outside(tmp_path, bad_name):
    archive = _tgz(tmp_path / "evil.tgz", {"top/ok.txt": b"ok", bad_name: b"evil"})
    into = tmp_path / "deep" / "out"
    with pytest.raises(DatasetUnavailable, match="outside"):
        extract_tgz(archive, into)
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "deep" / "escape.txt").exists()
    assert not (into / "top" / "ok.txt").exists()


def test_extract_corrupt_archive_is_a_clear_error(tmp_path):
    archive = tmp_path / "broken.tgz"
    archive.write_bytes(b"not a tarball at all")
    with pytest.raises(DatasetUnavailable, match="Delete it"):
        extract_tgz(archive, tmp_path / "out")
