"""Downloading an archive once into a cache and unpacking it once, with a progress bar.

Both steps are safe to interrupt: a download lands under its final name only when complete, and
an extraction counts as done only once its marker file is written.
"""

import http.client
import socket
import tarfile
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from core.errors import DatasetUnavailable

_CHUNK = 1 << 20
_TIMEOUT_S = 30


def offline_hint(url: str, error: object) -> str:
    """The message for a failed download: what failed, and how to work without the network."""
    return (
        f"Could not download {url} ({error}); this machine looks offline. "
        "Download the archive elsewhere and pass --data-dir pointing at the .tgz, at the folder "
        "that holds it, or at the extracted folder (the one containing val/)."
    )


def download(url: str, dest: Path, *, progress: bool = True) -> Path:
    """Stream url to dest via dest.part, renamed only once complete; return dest."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response:
            _stream(response, part, desc=dest.name, progress=progress)
    except urllib.error.HTTPError as error:
        part.unlink(missing_ok=True)
        raise DatasetUnavailable(f"Could not download {url}: the server answered {error.code} {error.reason}.") from None
    except (urllib.error.URLError, http.client.HTTPException, socket.timeout, ConnectionError) as error:
        part.unlink(missing_ok=True)
        raise DatasetUnavailable(offline_hint(url, getattr(error, "reason", error))) from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    part.replace(dest)
    return dest


def _stream(response, part: Path, *, desc: str, progress: bool) -> None:
    """Copy the response body to part in chunks, advancing a byte-count bar."""
    total = int(response.headers.get("Content-Length") or 0) or None
    with open(part, "wb") as out, tqdm(
        total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc, disable=not progress
    ) as bar:
        while chunk := response.read(_CHUNK):
            out.write(chunk)
            bar.update(len(chunk))


def extract_tgz(archive: Path, into: Path) -> Path:
    """Unpack a .tgz into `into` once (a marker file makes repeats instant); return `into`."""
    archive, into = Path(archive), Path(into)
    marker = into / f".{archive.name}.extracted"
    if marker.exists():
        return into
    into.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            _refuse_unsafe(members, archive)
            tar.extractall(into, members=members, filter="data")
    except (tarfile.TarError, EOFError, OSError) as error:
        raise DatasetUnavailable(
            f"Could not unpack {archive} ({error}). Delete it and try again, or pass --data-dir "
            "pointing at an already extracted folder."
        ) from None
    marker.touch()
    return into


def _refuse_unsafe(members: list[tarfile.TarInfo], archive: Path) -> None:
    """Refuse the whole archive if any member would land outside the target folder."""
    for member in members:
        path = PurePosixPath(member.name)
        if path.is_absolute() or ".." in path.parts:
            raise DatasetUnavailable(f"Refusing to unpack {archive}: member {member.name!r} points outside the folder.")
