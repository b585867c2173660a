"""EncryptedStorage over a real LocalDiskStorage: what lands on disk is ciphertext bound to its
key; tampering, truncation, another key's blob and another encryption key are all refused."""

from __future__ import annotations

import os

import pytest

from app.integrations.storage import (
    EncryptedStorage,
    InvalidStorageKey,
    LocalDiskStorage,
    ObjectNotFound,
    StorageIntegrityError,
)

KEY = bytes(range(32))
PLAINTEXT = b"%PDF-1.7 discharge summary of Zhang Wei, 360702198503120119"


@pytest.fixture
def disk(tmp_path):
    return LocalDiskStorage(tmp_path / "store")


@pytest.fixture
def store(disk):
    return EncryptedStorage(disk, KEY)


def test_round_trip_and_what_the_disk_holds(store, disk):
    store.put("claims/1/a", PLAINTEXT, "application/pdf")
    assert store.get("claims/1/a") == PLAINTEXT
    blob = disk.get("claims/1/a")
    # magic (4) + nonce (12) + ciphertext (same length as the plaintext) + GCM tag (16)
    assert blob.startswith(b"HMD1") and len(blob) == 4 + 12 + len(PLAINTEXT) + 16
    assert b"Zhang" not in blob and b"360702" not in blob and b"%PDF" not in blob
    assert store.exists("claims/1/a")
    store.delete("claims/1/a")
    assert not store.exists("claims/1/a") and not disk.exists("claims/1/a")
    with pytest.raises(ObjectNotFound):
        store.get("claims/1/a")


def test_same_document_twice_gives_different_ciphertext(store, disk):
    store.put("claims/1/a", PLAINTEXT, "application/pdf")
    store.put("claims/1/b", PLAINTEXT, "application/pdf")
    assert disk.get("claims/1/a")[4:16] != disk.get("claims/1/b")[4:16]  # fresh nonce
    assert disk.get("claims/1/a") != disk.get("claims/1/b")


def test_a_blob_moved_to_another_key_does_not_decrypt(store, disk):
    """One member's invoice copied under another member's claim is refused, not served."""
    store.put("claims/1/mine", PLAINTEXT, "application/pdf")
    disk.put("claims/2/theirs", disk.get("claims/1/mine"), "application/octet-stream")
    with pytest.raises(StorageIntegrityError):
        store.get("claims/2/theirs")


@pytest.mark.parametrize("position", [0, 5, 20, -1])  # magic, nonce, ciphertext, tag
def test_any_changed_byte_is_refused(store, disk, position):
    store.put("claims/1/a", PLAINTEXT, "application/pdf")
    blob = bytearray(disk.get("claims/1/a"))
    blob[position] ^= 0x01
    disk.put("claims/1/a", bytes(blob), "application/octet-stream")
    with pytest.raises(StorageIntegrityError):
        store.get("claims/1/a")


def test_truncated_or_foreign_objects_are_refused(store, disk):
    store.put("claims/1/a", PLAINTEXT, "application/pdf")
    disk.put("claims/1/a", disk.get("claims/1/a")[:-1], "application/octet-stream")
    with pytest.raises(StorageIntegrityError):
        store.get("claims/1/a")
    disk.put("claims/1/b", b"HMD1", "application/octet-stream")
    with pytest.raises(StorageIntegrityError):
        store.get("claims/1/b")
    disk.put("claims/1/c", PLAINTEXT, "application/pdf")  # written around the wrapper
    with pytest.raises(StorageIntegrityError):
        store.get("claims/1/c")


def test_another_encryption_key_cannot_read(store, disk):
    store.put("claims/1/a", PLAINTEXT, "application/pdf")
    with pytest.raises(StorageIntegrityError):
        EncryptedStorage(disk, os.urandom(32)).get("claims/1/a")


@pytest.mark.parametrize("key", [b"", bytes(31), bytes(33), "k" * 32])
def test_key_must_be_32_bytes(disk, key):
    with pytest.raises(ValueError):
        EncryptedStorage(disk, key)


def test_keys_are_validated_before_anything_is_written(store, tmp_path):
    with pytest.raises(InvalidStorageKey):
        store.put("../escape", PLAINTEXT, "application/pdf")
    assert not any(p.is_file() for p in tmp_path.rglob("*"))
