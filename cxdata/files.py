"""Files that may hold personal data (segment exports): written whole or not at all, readable by their owner only.

The content goes to a hidden temporary file beside the target, created with
O_CREAT|O_EXCL|O_NOFOLLOW and mode 0600, so whatever already holds that name (a
planted symbolic link included) is never opened, followed or removed; it is
flushed to disk and then renamed over the target. A target that is not a regular
file (a device such as /dev/null, a fifo, a socket, a folder, a symbolic link) or
lies on a kernel filesystem (/proc, /sys, /dev) is refused: renaming over it would
replace a device node or a link something else relies on, even when run as root.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from cxdata.errors import OutputError
from cxdata.faults import crash_point

MODE = 0o600
TEMP_SUFFIX = ".partial"
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_ATTEMPTS = 16
# The temporary name adds a dot, a token and a suffix to the target's: cut it so the name stays under the
# 255 bytes most filesystems allow, even for a target name near that limit.
_NAME_KEEP = 100
_KERNEL_FOLDERS = ("/proc", "/sys", "/dev")
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a fifo (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symbolic link"),
)


def check_target(path: str | os.PathLike[str]) -> Path:
    """``path`` when a file can be written there (its folder exists, and it is absent or a regular file), else an
    OutputError saying why."""
    path = Path(path)
    if "\0" in str(path):
        raise OutputError(f"cannot write {_shown(path)}: a path cannot contain a NUL character")
    if path.name in ("", ".", ".."):
        raise OutputError(f"cannot write {_shown(path)}: it names a folder, not a file")
    try:
        found: os.stat_result | None = os.lstat(path)
    except FileNotFoundError:
        found = None
    except OSError as exc:
        raise OutputError(f"cannot write {_shown(path)}: {_reason(exc)}") from None
    if found is not None and not stat.S_ISREG(found.st_mode):
        raise OutputError(f"refusing to write {_shown(path)}: it is {_kind(found.st_mode)}, not a regular file")
    folder = path.parent
    try:
        held = os.stat(folder)  # a folder reached through a symbolic link is fine
    except FileNotFoundError:
        raise OutputError(f"cannot write {_shown(path)}: folder {_shown(folder)} does not exist") from None
    except OSError as exc:
        raise OutputError(f"cannot write {_shown(path)}: {_reason(exc)}") from None
    if not stat.S_ISDIR(held.st_mode):
        raise OutputError(f"cannot write {_shown(path)}: {_shown(folder)} is not a folder")
    kernel = _kernel_filesystem(held.st_dev)
    if kernel is not None:
        raise OutputError(f"refusing to write {_shown(path)}: {kernel} is the kernel's, not a place for files")
    return path


@contextmanager
def replacing(path: str | os.PathLike[str], crash: str | None = None) -> Iterator[BinaryIO]:
    """A binary file for ``path``'s new content. On a clean exit it is flushed to disk and renamed over ``path``
    (mode 0600); on an error it is removed and ``path`` is untouched. ``crash`` names the crash point
    (`cxdata.faults`) reached when the content is on disk but not yet renamed."""
    path = check_target(path)
    temp, descriptor = _create_temp(path)
    try:
        with os.fdopen(descriptor, "wb") as sink:
            yield sink
            sink.flush()
            os.fsync(sink.fileno())
        if crash is not None:
            crash_point(crash)
        check_target(path)  # again: the target may have been swapped while the rows were written
        os.replace(temp, path)
    except OSError as exc:
        _remove(temp)
        raise OutputError(f"cannot write {_shown(path)}: {_reason(exc)}") from None
    except BaseException:
        _remove(temp)
        raise
    _sync_folder(path.parent)


def remove_leftovers(path: str | os.PathLike[str]) -> int:
    """Remove the temporary files of ``path`` that a killed writer left beside it (regular files only, never a
    link); how many. Only for a target one writer at a time writes (a sync holds its destination's lock)."""
    path = Path(path)
    removed = 0
    for temp in path.parent.glob(f".{glob.escape(path.name[:_NAME_KEEP])}.*{TEMP_SUFFIX}"):
        if stat.S_ISREG(temp.lstat().st_mode):
            _remove(temp)
            removed += 1
    return removed


def _create_temp(path: Path) -> tuple[Path, int]:
    for _ in range(_ATTEMPTS):
        temp = path.with_name(f".{path.name[:_NAME_KEEP]}.{_token()}{TEMP_SUFFIX}")
        try:
            return temp, os.open(temp, _FLAGS, MODE)
        except FileExistsError:
            continue  # not ours (maybe a planted link): leave it alone and draw another name
        except OSError as exc:
            raise OutputError(f"cannot create a file in {_shown(path.parent)}: {_reason(exc)}") from None
    raise OutputError(f"cannot create a temporary file beside {_shown(path)}: {_ATTEMPTS} names were all taken")


def _token() -> str:
    return secrets.token_hex(8)


def _remove(temp: Path) -> None:
    # Already gone only if the folder went away: nothing is left to clean then.
    with contextlib.suppress(OSError):
        temp.unlink()


def _sync_folder(folder: Path) -> None:
    # The rename is durable only once the folder's entry is on disk; some filesystems cannot sync a folder.
    try:
        descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _kernel_filesystem(device: int) -> str | None:
    root = _device_of("/")
    for folder in _KERNEL_FOLDERS:
        found = _device_of(folder)
        # In some containers /dev is a plain folder of the root filesystem: only a separate mount counts.
        if found is not None and found != root and found == device:
            return folder
    return None


def _device_of(folder: str) -> int | None:
    try:
        return os.stat(folder).st_dev
    except OSError:
        return None


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _shown(path: Path, width: int = 120) -> str:
    text = str(path)
    return repr(text if len(text) <= width else text[:width] + "…")
