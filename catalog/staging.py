"""Replacing a folder so that it appears complete or not at all, and tidying up after a killed writer.

A writer (a catalog build, a publish) claims its target: it holds an flock on `.NAME.lock-TOKEN` for its
whole life, writes into `.NAME.tmp-TOKEN` and swaps that in with two renames, setting the previous folder
aside as `.NAME.old-TOKEN` between them (TOKEN is 8 hex digits and the PID, for people reading a
listing). The kernel drops a killed process's lock, so a leftover whose lock nobody holds belongs to a
dead writer even where PIDs repeat (in a container every build may be PID 1): recovery removes its
staging folder and puts a set-aside folder back where the target is missing. Only exact names are
touched: `.cat.v2.old-...` belongs to `cat.v2`, not to `cat`.
"""
from __future__ import annotations

import errno
import fcntl
import logging
import os
import re
import shutil
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from catalog.schema import MANIFEST

log = logging.getLogger(__name__)
TOKEN = "[0-9a-f]{8}-[0-9]+"  # see Claim.__init__
KINDS = "tmp|old|lock"
_ANY_LEFTOVER = re.compile(rf"\.(?P<name>.+)\.(?P<kind>{KINDS})-(?P<token>{TOKEN})")


def _leftover_name(target: Path) -> re.Pattern:
    """`.NAME.tmp-TOKEN` (staging), `.NAME.old-TOKEN` (set aside in a swap), `.NAME.lock-TOKEN`, exactly."""
    return re.compile(rf"\.{re.escape(target.name)}\.(?P<kind>{KINDS})-(?P<token>{TOKEN})")


def _lock_path(target: Path, token: str) -> Path:
    return target.parent / f".{target.name}.lock-{token}"


@contextmanager
def _if_abandoned(lock: Path) -> Iterator[bool]:
    """True (holding the lock meanwhile, removing it after) when no live writer holds `lock`."""
    try:
        fd = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        yield True  # a writer takes its lock before it makes anything, and drops it last
        return
    except OSError:
        yield False  # cannot tell: leave the leftovers alone
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held by a live writer, or no locking on this file system: leave it alone
            yield False
            return
        yield True
        lock.unlink(missing_ok=True)
    finally:
        os.close(fd)


def recover(target: Path) -> None:
    """Tidy up after killed writers of target: put a set-aside folder back, drop dead staging folders.

    OSError (e.g. a read-only folder) propagates; `recover_quietly` logs it instead.
    """
    target = Path(target)
    parent = target.parent
    if not parent.is_dir():
        return
    pattern = _leftover_name(target)
    by_token: dict[str, list[tuple[str, Path]]] = defaultdict(list)
    for entry in sorted(parent.iterdir()):
        match = pattern.fullmatch(entry.name)
        if match is not None:
            by_token[match["token"]].append((match["kind"], entry))
    for token, leftovers in sorted(by_token.items()):
        with _if_abandoned(_lock_path(target, token)) as abandoned:
            if not abandoned:
                continue
            for kind, leftover in sorted(leftovers, key=lambda item: item[0] != "old"):
                if kind == "old" and not target.exists() and (leftover / MANIFEST).is_file():
                    leftover.rename(target)  # killed between the two renames of a swap
                elif kind != "lock":
                    shutil.rmtree(leftover, ignore_errors=True)


def recover_quietly(target: Path) -> None:
    """`recover` for readers (the app, the SQL command): a folder they cannot write is logged, not raised."""
    try:
        recover(target)
    except OSError as exc:
        log.warning("could not tidy up after an interrupted build of %s: %s", target, exc)


def recover_folder(root: Path) -> None:
    """`recover_quietly` for every name with leftovers directly under root (a catalog folder)."""
    root = Path(root)
    if not root.is_dir():
        return
    names = {match["name"] for entry in root.iterdir() if (match := _ANY_LEFTOVER.fullmatch(entry.name))}
    for name in sorted(names):
        recover_quietly(root / name)


class Claim:
    """One writer's hold on a target folder: a locked lock file and a fresh staging folder.

    `swap_in` makes the staging folder the target; `abandon` drops it. Either releases the lock.
    """

    def __init__(self, target: Path):
        self.target = Path(target).resolve()
        self.token = f"{uuid.uuid4().hex[:8]}-{os.getpid()}"  # unique even for two writers in one process
        self.staging = self.target.parent / f".{self.target.name}.tmp-{self.token}"
        self._lock = _lock_path(self.target, self.token)
        self._fd: int | None = None
        self.target.parent.mkdir(parents=True, exist_ok=True)
        recover(self.target)
        self._take_lock()
        try:
            self.staging.mkdir()
        except OSError:
            self.release()
            raise

    def _take_lock(self) -> None:
        """Lock a file under a name recovery ignores, then rename it into place: recovery never sees it unlocked."""
        pending = self._lock.with_name(self._lock.name + ".new")
        self._fd = os.open(pending, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                raise
            log.warning("no file locks under %s: a build killed here is tidied up by hand", self.target.parent)
        os.rename(pending, self._lock)

    def swap_in(self) -> Path:
        """Make the staging folder the target with two renames; the previous target comes back on failure."""
        old = self.target.parent / f".{self.target.name}.old-{self.token}"
        if self.target.exists():
            self.target.rename(old)
        try:
            self.staging.rename(self.target)
        except OSError:
            if old.exists() and not self.target.exists():
                old.rename(self.target)  # the previous folder back in place
            raise
        shutil.rmtree(old, ignore_errors=True)
        self.release()
        return self.target

    def abandon(self) -> None:
        """Drop the staging folder and the lock; safe to call twice."""
        shutil.rmtree(self.staging, ignore_errors=True)
        self.release()

    def release(self) -> None:
        if self._fd is not None:
            self._lock.unlink(missing_ok=True)
            os.close(self._fd)
            self._fd = None
