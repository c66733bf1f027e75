"""Files that may hold personal data: written whole, mode 0600, never through a planted link, never over a device,
fifo, folder or link."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cxdata import files
from cxdata.errors import OutputError
from cxdata.files import check_target, replacing

PERSONAL = b"customer_key,email\nC1,ana@example.com\n"


@pytest.fixture
def usual_umask():
    """The umask most accounts have (022), under which a plain open() would make the file world-readable."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(files.TEMP_SUFFIX))


def test_a_new_file_is_owner_only_and_complete(tmp_path, usual_umask):
    target = tmp_path / "export.csv"
    with replacing(target) as sink:
        sink.write(PERSONAL)
    assert target.read_bytes() == PERSONAL
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert leftovers(tmp_path) == []


def test_replacing_a_world_readable_file_leaves_it_owner_only(tmp_path, usual_umask):
    target = tmp_path / "export.csv"
    target.write_bytes(b"old")
    target.chmod(0o644)
    with replacing(target) as sink:
        sink.write(PERSONAL)
    assert target.read_bytes() == PERSONAL and stat.S_IMODE(target.stat().st_mode) == 0o600


def test_an_error_while_writing_leaves_the_target_untouched_and_no_temp(tmp_path):
    target = tmp_path / "export.csv"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="warehouse went away"), replacing(target) as sink:
        sink.write(PERSONAL)
        raise RuntimeError("warehouse went away")
    assert target.read_bytes() == b"old" and leftovers(tmp_path) == []


def test_a_symlink_planted_at_the_temp_path_is_not_followed(tmp_path, monkeypatch):
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"do not touch")
    target = tmp_path / "export.csv"
    planted = tmp_path / f".export.csv.planted{files.TEMP_SUFFIX}"
    planted.symlink_to(victim)
    names = iter(["planted", "fresh"])
    monkeypatch.setattr(files, "_token", lambda: next(names))
    with replacing(target) as sink:
        sink.write(PERSONAL)
    assert victim.read_bytes() == b"do not touch"
    assert planted.is_symlink() and os.readlink(planted) == str(victim)  # someone else's: left alone
    assert target.read_bytes() == PERSONAL and not target.is_symlink()


def test_when_every_temp_name_is_taken_nothing_is_written(tmp_path, monkeypatch):
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"do not touch")
    (tmp_path / f".export.csv.planted{files.TEMP_SUFFIX}").symlink_to(victim)
    monkeypatch.setattr(files, "_token", lambda: "planted")
    with pytest.raises(OutputError, match="names were all taken"), replacing(tmp_path / "export.csv") as sink:
        sink.write(PERSONAL)
    assert victim.read_bytes() == b"do not touch" and not (tmp_path / "export.csv").exists()


def test_special_files_are_refused_and_stay_what_they_were(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    link = tmp_path / "link.csv"
    real = tmp_path / "real.csv"
    real.write_bytes(b"real")
    link.symlink_to(real)
    for target, kind in ((fifo, "fifo"), (folder, "folder"), (link, "symbolic link")):
        with pytest.raises(OutputError, match=f"it is a {kind}.*not a regular file"), replacing(target) as sink:
            sink.write(PERSONAL)
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and stat.S_ISDIR(folder.lstat().st_mode)
    assert link.is_symlink() and real.read_bytes() == b"real"
    assert leftovers(tmp_path) == []


def test_devices_and_kernel_folders_are_refused_by_the_check_alone():
    # check_target only looks (lstat/stat): it is safe to ask about the real /dev/null.
    with pytest.raises(OutputError, match="character device"):
        check_target("/dev/null")
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)
    if os.path.isdir("/proc/self"):
        with pytest.raises(OutputError, match="/proc is the kernel's"):
            check_target("/proc/self/status")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing/export.csv", "folder .* does not exist"),
        ("plain.txt/export.csv", "(is not a folder|Not a directory)"),
        ("x" * 300 + ".csv", "File name too long"),
        ("", "names a folder"),
    ],
)
def test_bad_paths_are_one_line_errors(tmp_path, name, message):
    (tmp_path / "plain.txt").write_text("a file, not a folder")
    target = tmp_path / name if name else Path("")
    with pytest.raises(OutputError, match=message) as raised:
        check_target(target)
    assert "\n" not in str(raised.value) and len(str(raised.value)) < 300


def test_a_target_name_near_the_limit_still_gets_a_temp_name(tmp_path):
    target = tmp_path / ("y" * 250 + ".csv")
    with replacing(target) as sink:
        sink.write(PERSONAL)
    assert target.read_bytes() == PERSONAL
