"""LocalDiskStorage on a real directory: round trips, permissions, atomic replacement, key
validation, and confinement to the root even through a planted symbolic link."""

from __future__ import annotations

import os
import re
import stat

import pytest

from app.integrations.storage import (
    InvalidStorageKey,
    LocalDiskStorage,
    ObjectNotFound,
    StorageError,
    StoragePort,
    claim_document_key,
    new_key,
    validate_key,
)


@pytest.fixture
def root(tmp_path):
    return tmp_path / "documents"


@pytest.fixture
def store(root):
    return LocalDiskStorage(root)


def _all_files(directory):
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())


def test_is_a_storage_port(store):
    assert isinstance(store, StoragePort)


def test_round_trip_overwrite_exists_delete(store, root):
    key = "claims/7/3f2a9c"
    assert not store.exists(key)
    store.put(key, b"first", "image/jpeg")
    assert store.exists(key) and store.get(key) == b"first"
    store.put(key, b"second version", "image/jpeg")
    assert store.get(key) == b"second version"
    assert _all_files(root) == ["claims/7/3f2a9c"]  # no temporary file left behind
    store.delete(key)
    assert not store.exists(key)
    store.delete(key)  # already gone: not an error
    with pytest.raises(ObjectNotFound):
        store.get(key)


def test_missing_object_is_not_found_and_a_folder_is_not_an_object(store):
    store.put("claims/7/a", b"x", "image/png")
    for key in ("claims/7/b", "claims/7", "claims"):
        assert not store.exists(key)
        with pytest.raises(ObjectNotFound):
            store.get(key)
    store.delete("claims/7")  # deleting a "folder" removes nothing
    assert store.get("claims/7/a") == b"x"


def test_files_are_private_to_the_service_user(store, root):
    old_umask = os.umask(0o022)
    try:
        store.put("claims/8/doc", b"health data", "application/pdf")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE((root / "claims/8/doc").stat().st_mode) == 0o600
    for directory in (root, root / "claims", root / "claims/8"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_a_failed_write_leaves_the_old_object_and_no_debris(store, root, monkeypatch):
    store.put("claims/9/doc", b"original", "image/jpeg")

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        store.put("claims/9/doc", b"half-written replacement", "image/jpeg")
    monkeypatch.undo()
    assert store.get("claims/9/doc") == b"original"
    assert _all_files(root) == ["claims/9/doc"]


BAD_KEYS = [
    ("parent-traversal", "../outside"),
    ("traversal-inside", "claims/../../outside"),
    ("dot-dot-in-a-name", "claims/a..b"),
    ("absolute", "/etc/passwd"),
    ("empty", ""),
    ("trailing-slash", "claims/7/"),
    ("double-slash", "claims//7"),
    ("dot-segment", "claims/./7"),
    ("hidden-name", "claims/.hidden"),
    ("temp-file-name", "claims/7/.tmp-abc"),
    ("upper-case", "Claims/7/A"),
    ("backslash", "claims\\7"),
    ("space", "claims/7/my invoice.jpg"),
    ("non-ascii", "claims/7/发票.jpg"),
    ("nul-byte", "claims/7/a\x00b"),
    ("newline", "claims/7/a\nb"),
    ("too-long", "/".join(["a" * 128] * 4) + "/a"),  # 517 characters
    ("segment-too-long", "claims/" + "a" * 129),
]


@pytest.mark.parametrize("key", [k for _, k in BAD_KEYS], ids=[name for name, _ in BAD_KEYS])
def test_bad_keys_are_refused_by_every_operation(store, root, tmp_path, key):
    for operation in (
        lambda: store.put(key, b"x", "image/png"),
        lambda: store.get(key),
        lambda: store.exists(key),
        lambda: store.delete(key),
    ):
        with pytest.raises(InvalidStorageKey):
            operation()
    assert _all_files(tmp_path) == []


def test_longest_allowed_key(store):
    key = "/".join(["a" * 128] * 4)[:-3]  # 4 segments: 128 + 1 + 128 + 1 + 128 + 1 + 125
    assert len(key) == 512
    assert validate_key(key) == key
    store.put(key, b"x", "image/png")
    assert store.get(key) == b"x"


def test_a_symbolic_link_inside_the_root_cannot_lead_outside(store, root, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret").write_bytes(b"not yours")
    (root / "claims").symlink_to(outside, target_is_directory=True)

    with pytest.raises(StorageError):
        store.put("claims/1/doc", b"x", "image/png")
    with pytest.raises(StorageError):
        store.get("claims/secret")
    with pytest.raises(StorageError):
        store.delete("claims/secret")
    assert _all_files(outside) == ["secret"]


def test_generated_keys():
    first, second = claim_document_key(42), claim_document_key(42)
    assert re.fullmatch(r"claims/42/[0-9a-f]{32}", first) and first != second
    assert re.fullmatch(r"exports/[0-9a-f]{32}", new_key("exports"))
    for bad in (0, -1, True, "42", 4.2):
        with pytest.raises(InvalidStorageKey):
            claim_document_key(bad)
    with pytest.raises(InvalidStorageKey):
        new_key("../x")


def test_the_root_is_created_private(tmp_path):
    root = tmp_path / "a" / "b"
    LocalDiskStorage(root)
    assert root.is_dir() and stat.S_IMODE(root.stat().st_mode) == 0o700
