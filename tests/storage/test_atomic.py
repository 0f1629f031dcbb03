"""The one atomic writer: whole files, the usual mode, no temporary file left behind."""

from __future__ import annotations

import os

import pytest
from upath import UPath

from nascar_pipeline.storage.atomic import write_bytes_atomic


def test_writes_replaces_and_leaves_no_temp_file(tmp_path):
    target = tmp_path / "deep" / "folder" / "file.parquet"
    write_bytes_atomic(target, b"first")
    write_bytes_atomic(UPath(str(target)), b"second")
    assert target.read_bytes() == b"second"
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.parquet"]


def test_mode_follows_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        write_bytes_atomic(tmp_path / "f.bin", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "f.bin").stat().st_mode & 0o777 == 0o640


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "f.bin"
    write_bytes_atomic(target, b"old")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_bytes_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_a_bare_file_name_is_written_in_the_working_folder(tmp_path, monkeypatch):
    # `export --out DKEntries-upload.csv` names no folder
    monkeypatch.chdir(tmp_path)
    write_bytes_atomic("upload.csv", b"D,D\n")
    assert (tmp_path / "upload.csv").read_bytes() == b"D,D\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["upload.csv"]
