"""S3Storage against a real S3 wire-format server on loopback (moto's ThreadedMotoServer: SigV4,
XML error bodies, 404 on HEAD), plus bounded retries against a fake that answers 503 SlowDown
and bounded timeouts against a socket that accepts and never answers."""

from __future__ import annotations

import socket
import threading

import boto3
import pytest
from moto.server import ThreadedMotoServer

from app.integrations.storage import (
    EncryptedStorage,
    ObjectNotFound,
    StorageError,
    StorageUnavailable,
)
from app.integrations.storage.s3 import S3Storage

ACCESS_KEY, SECRET_KEY, REGION = "test-access-key", "test-secret-key", "cn-north-1"
BUCKET = "huimin-claim-documents"


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    yield endpoint
    server.stop()


@pytest.fixture(scope="module")
def raw_client(s3_endpoint):
    """A plain boto3 client, to look at the bucket without going through the adapter."""
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    yield client
    client.close()


def _adapter(endpoint, **overrides):
    settings = dict(
        bucket=BUCKET,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
        endpoint_url=endpoint,
        region=REGION,
        addressing_style="path",
        timeout_seconds=5,
        max_attempts=2,
    )
    settings.update(overrides)
    return S3Storage(**settings)


@pytest.fixture
def store(s3_endpoint, raw_client):
    adapter = _adapter(s3_endpoint)
    yield adapter
    adapter.close()


def test_round_trip_over_the_wire(store, raw_client):
    key = "claims/7/5b1c0e"
    assert not store.exists(key)
    store.put(key, b"\xff\xd8\xff invoice photo", "image/jpeg")
    assert store.exists(key)
    assert store.get(key) == b"\xff\xd8\xff invoice photo"
    head = raw_client.head_object(Bucket=BUCKET, Key=key)
    assert head["ContentType"] == "image/jpeg" and head["ContentLength"] == 17
    store.put(key, b"replaced", "image/jpeg")
    assert store.get(key) == b"replaced"
    store.delete(key)
    assert not store.exists(key)
    store.delete(key)  # deleting twice is fine, as S3 says
    with pytest.raises(ObjectNotFound):
        store.get(key)


def test_missing_bucket_is_a_refusal_not_a_missing_object(s3_endpoint, raw_client):
    adapter = _adapter(s3_endpoint, bucket="no-such-bucket")
    try:
        with pytest.raises(StorageError) as raised:
            adapter.get("claims/1/a")
        assert not isinstance(raised.value, (ObjectNotFound, StorageUnavailable))
        assert "NoSuchBucket" in str(raised.value)
        with pytest.raises(StorageError):
            adapter.put("claims/1/a", b"x", "image/png")
    finally:
        adapter.close()


def test_encrypted_over_s3_leaves_only_ciphertext_in_the_bucket(store, raw_client):
    encrypted = EncryptedStorage(store, bytes(range(32)))
    encrypted.put("claims/8/doc", b"discharge summary: Zhang Wei", "application/pdf")
    stored = raw_client.get_object(Bucket=BUCKET, Key="claims/8/doc")
    body = stored["Body"].read()
    assert body.startswith(b"HMD1") and b"Zhang" not in body
    assert stored["ContentType"] == "application/octet-stream"  # the document's type stays ours
    assert encrypted.get("claims/8/doc") == b"discharge summary: Zhang Wei"


_SLOW_DOWN = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    "<Message>Please reduce your request rate.</Message><RequestId>R1</RequestId></Error>"
)


@pytest.mark.parametrize("attempts", [1, 3])
def test_retries_stop_at_the_configured_number_of_attempts(httpserver, attempts):
    httpserver.expect_request(f"/{BUCKET}/claims/1/a").respond_with_data(
        _SLOW_DOWN, status=503, content_type="application/xml"
    )
    adapter = _adapter(httpserver.url_for("/").rstrip("/"), max_attempts=attempts)
    try:
        with pytest.raises(StorageUnavailable):
            adapter.get("claims/1/a")
    finally:
        adapter.close()
    assert len(httpserver.log) == attempts


class SilentServer:
    """Accepts TCP connections and never answers: a hung storage endpoint."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(connection)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def close(self) -> None:
        self.sock.close()
        for connection in self.accepted:
            connection.close()


def test_a_hung_endpoint_times_out_after_the_configured_attempts():
    server = SilentServer()
    adapter = _adapter(server.url, timeout_seconds=0.3, max_attempts=2)
    try:
        with pytest.raises(StorageUnavailable) as raised:
            adapter.get("claims/1/a")
        assert "Timeout" in str(raised.value)
        assert len(server.accepted) == 2
    finally:
        adapter.close()
        server.close()


def test_nothing_listening_is_unavailable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    adapter = _adapter(f"http://127.0.0.1:{closed_port}", timeout_seconds=0.5, max_attempts=1)
    try:
        with pytest.raises(StorageUnavailable):
            adapter.exists("claims/1/a")
    finally:
        adapter.close()


def test_registry_builds_the_s3_store_from_config(s3_endpoint, raw_client):
    from app import config as app_config
    from app import create_app
    from app.integrations import registry

    cfg = app_config.testing_config()
    cfg.STORAGE_BACKEND = "s3"
    cfg.STORAGE_S3_ENDPOINT_URL, cfg.STORAGE_S3_BUCKET, cfg.STORAGE_S3_REGION = (
        s3_endpoint,
        BUCKET,
        REGION,
    )
    cfg.STORAGE_S3_ACCESS_KEY_ID, cfg.STORAGE_S3_SECRET_ACCESS_KEY = ACCESS_KEY, SECRET_KEY
    application = create_app(cfg)
    with application.app_context():
        store = registry.storage()
        assert isinstance(store, EncryptedStorage) and isinstance(store.inner, S3Storage)
        store.put("claims/9/doc", b"settlement sheet", "image/png")
        assert store.get("claims/9/doc") == b"settlement sheet"
    body = raw_client.get_object(Bucket=BUCKET, Key="claims/9/doc")["Body"].read()
    assert body.startswith(b"HMD1") and b"settlement" not in body
