"""`wo up` keeps one privacy master key under its var directory, the owner's alone, and
hands it to the services; a key the user exports wins."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shared.settings import MIN_SECRET_BYTES
from wo.master_key import VARIABLE, MasterKeyError, ensure_master_key, provide_master_key


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_the_first_run_generates_a_random_key_readable_by_the_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "privacy-master.key"
    previous = os.umask(0)  # even a permissive umask gives nobody else access
    try:
        key = ensure_master_key(path)
    finally:
        os.umask(previous)

    assert _mode(path) == 0o600
    assert len(key.encode()) >= MIN_SECRET_BYTES
    assert ensure_master_key(tmp_path / "another.key") != key


def test_later_runs_keep_the_key_and_narrow_its_permissions(tmp_path: Path) -> None:
    path = tmp_path / "privacy-master.key"
    key = ensure_master_key(path)
    path.chmod(0o644)

    assert ensure_master_key(path) == key
    assert _mode(path) == 0o600


@pytest.mark.parametrize("content", ["", "short\n"])
def test_a_damaged_key_file_is_refused_not_replaced(tmp_path: Path, content: str) -> None:
    path = tmp_path / "privacy-master.key"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(MasterKeyError, match="restore it"):
        ensure_master_key(path)
    assert path.read_text(encoding="utf-8") == content


def test_the_services_environment_gets_the_key(tmp_path: Path) -> None:
    environment: dict[str, str] = {}

    provide_master_key(environment, tmp_path / "privacy-master.key")

    assert environment[VARIABLE] == ensure_master_key(tmp_path / "privacy-master.key")


def test_a_key_the_user_exported_is_used_and_nothing_is_written(tmp_path: Path) -> None:
    environment = {VARIABLE: "k" * MIN_SECRET_BYTES}

    provide_master_key(environment, tmp_path / "privacy-master.key")

    assert environment[VARIABLE] == "k" * MIN_SECRET_BYTES
    assert not (tmp_path / "privacy-master.key").exists()
