"""How the app gets its document store (`registry.storage()`), and the configuration rules around
it: every profile validates the backend and the key; production also refuses the development
key, a key shared with another purpose, an implicit local directory and a plain-http endpoint."""

from __future__ import annotations

import base64
import gc
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from app import config as app_config
from app import create_app
from app.config import ConfigurationError
from app.config_production import validate_production_document_storage
from app.integrations import registry
from app.integrations.storage import EncryptedStorage, LocalDiskStorage


def _app(**overrides):
    cfg = app_config.testing_config()
    for name, value in overrides.items():
        setattr(cfg, name, value)
    return create_app(cfg)


def test_testing_app_stores_encrypted_files_in_a_private_temporary_directory():
    application = _app()
    with application.app_context():
        store = registry.storage()
        assert registry.storage() is store  # built once per app
        assert isinstance(store, EncryptedStorage) and isinstance(store.inner, LocalDiskStorage)
        root = store.inner.root
        assert root.name.startswith("huimin-documents-")
        assert stat.S_IMODE(root.stat().st_mode) == 0o700
        store.put("claims/1/doc", b"invoice of Zhang Wei", "image/jpeg")
        assert store.get("claims/1/doc") == b"invoice of Zhang Wei"
        on_disk = (root / "claims/1/doc").read_bytes()
        assert on_disk.startswith(b"HMD1") and b"Zhang" not in on_disk
        del store
        application.extensions.pop("storage")
    gc.collect()
    assert not root.exists()  # removed with the store, not left in /tmp


def test_an_explicit_local_directory_is_used(tmp_path):
    application = _app(STORAGE_LOCAL_DIR=str(tmp_path / "docs"))
    with application.app_context():
        registry.storage().put("claims/2/doc", b"x", "application/pdf")
    assert (tmp_path / "docs/claims/2/doc").is_file()


def test_development_keeps_documents_under_instance_with_its_own_key(monkeypatch):
    for name in ("STORAGE_LOCAL_DIR", "STORAGE_BACKEND", "DOCUMENT_ENCRYPTION_KEY"):
        monkeypatch.delenv(name, raising=False)
    cfg = app_config.development_config()
    cfg.validate()
    assert Path(cfg.STORAGE_LOCAL_DIR).parts[-2:] == ("instance", "documents")
    assert len(cfg.DOCUMENT_ENCRYPTION_KEY) == 32
    assert cfg.DOCUMENT_ENCRYPTION_KEY not in (cfg.FIELD_ENCRYPTION_KEY, cfg.BLIND_INDEX_KEY)


def test_environment_is_read(monkeypatch, tmp_path):
    key = bytes(range(100, 132))
    monkeypatch.setenv("DOCUMENT_ENCRYPTION_KEY", base64.b64encode(key).decode())
    monkeypatch.setenv("STORAGE_BACKEND", "s3")
    monkeypatch.setenv("STORAGE_S3_BUCKET", "docs")
    monkeypatch.setenv("STORAGE_S3_TIMEOUT_SECONDS", "2.5")
    monkeypatch.setenv("STORAGE_S3_MAX_ATTEMPTS", "4")
    monkeypatch.setenv("DOCUMENT_MAX_BYTES", "5242880")
    cfg = app_config.production_config()
    assert cfg.DOCUMENT_ENCRYPTION_KEY == key
    assert (cfg.STORAGE_BACKEND, cfg.STORAGE_S3_BUCKET) == ("s3", "docs")
    assert (cfg.STORAGE_S3_TIMEOUT_SECONDS, cfg.STORAGE_S3_MAX_ATTEMPTS) == (2.5, 4)
    assert cfg.DOCUMENT_MAX_BYTES == 5 * 1024 * 1024
    monkeypatch.setenv("STORAGE_S3_MAX_ATTEMPTS", "many")
    with pytest.raises(ConfigurationError):
        app_config.production_config()


_S3 = dict(
    STORAGE_BACKEND="s3",
    STORAGE_S3_BUCKET="b",
    STORAGE_S3_ACCESS_KEY_ID="id",
    STORAGE_S3_SECRET_ACCESS_KEY="secret",
)
EVERY_PROFILE_REFUSES = {
    "backend-unknown": dict(STORAGE_BACKEND="gcs"),
    "key-missing": dict(DOCUMENT_ENCRYPTION_KEY=b""),
    "key-31-bytes": dict(DOCUMENT_ENCRYPTION_KEY=bytes(31)),
    "key-33-bytes": dict(DOCUMENT_ENCRYPTION_KEY=bytes(33)),
    "s3-bucket-missing": {**_S3, "STORAGE_S3_BUCKET": ""},
    "s3-access-key-missing": {**_S3, "STORAGE_S3_ACCESS_KEY_ID": ""},
    "s3-secret-missing": {**_S3, "STORAGE_S3_SECRET_ACCESS_KEY": ""},
    "s3-addressing-style-unknown": {**_S3, "STORAGE_S3_ADDRESSING_STYLE": "dns"},
    "s3-timeout-zero": dict(STORAGE_S3_TIMEOUT_SECONDS=0),
    "s3-attempts-zero": dict(STORAGE_S3_MAX_ATTEMPTS=0),
    "s3-attempts-eleven": dict(STORAGE_S3_MAX_ATTEMPTS=11),
}


@pytest.mark.parametrize(
    "change", list(EVERY_PROFILE_REFUSES.values()), ids=list(EVERY_PROFILE_REFUSES)
)
def test_every_profile_refuses(change):
    cfg = app_config.testing_config()
    cfg.validate()  # the baseline is valid: the refusal below is the change's doing
    with pytest.raises(ConfigurationError):
        replace(cfg, **change).validate()


def _production_like():
    cfg = app_config.testing_config()
    cfg.DOCUMENT_ENCRYPTION_KEY = bytes(range(32))
    cfg.STORAGE_BACKEND, cfg.STORAGE_LOCAL_DIR = "local", "/srv/huimin/documents"
    return cfg


PRODUCTION_ACCEPTS = {
    "local-with-explicit-dir": {},
    "s3-https-endpoint": {**_S3, "STORAGE_S3_ENDPOINT_URL": "https://oss-cn-shanghai.aliyuncs.com"},
    "s3-default-aws-endpoint": _S3,
}
PRODUCTION_REFUSES = {
    "key-missing": dict(DOCUMENT_ENCRYPTION_KEY=b""),
    "key-development": dict(
        DOCUMENT_ENCRYPTION_KEY=app_config.development_config().DOCUMENT_ENCRYPTION_KEY
    ),
    "key-equals-field-key": dict(DOCUMENT_ENCRYPTION_KEY=b"test-field-encryption-key-32byte"),
    "key-equals-index-key": dict(DOCUMENT_ENCRYPTION_KEY=b"test-blind-index-key-32-bytes-ok"),
    "local-without-explicit-dir": dict(STORAGE_LOCAL_DIR=""),
    "s3-plain-http-endpoint": {**_S3, "STORAGE_S3_ENDPOINT_URL": "http://minio.internal:9000"},
}


@pytest.mark.parametrize("change", list(PRODUCTION_ACCEPTS.values()), ids=list(PRODUCTION_ACCEPTS))
def test_production_accepts(change):
    validate_production_document_storage(replace(_production_like(), **change))


@pytest.mark.parametrize("change", list(PRODUCTION_REFUSES.values()), ids=list(PRODUCTION_REFUSES))
def test_production_refuses(change):
    with pytest.raises(ConfigurationError):
        validate_production_document_storage(replace(_production_like(), **change))
