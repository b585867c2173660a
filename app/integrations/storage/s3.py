"""Storage in any S3-compatible object store (AWS S3, MinIO, Ceph RGW, Aliyun OSS, Tencent COS...)
through boto3, with the endpoint, bucket, region and access key from config.

- Timeouts and retries are bounded (connect/read timeout, `total_max_attempts` in botocore's
  "standard" retry mode), so a stuck store fails an upload in seconds instead of holding a worker.
- Request checksums are only sent when an operation requires them: several S3-compatible stores
  reject the newer trailing-checksum uploads, and integrity is already guaranteed end to end by
  the AES-GCM tag of `EncryptedStorage`.
- Errors come out as the port's: ObjectNotFound, StorageUnavailable (network, timeouts, 5xx,
  throttling: retry later) and StorageError (refused: credentials, missing bucket).
"""

from __future__ import annotations

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from app.integrations.storage.port import (
    ObjectNotFound,
    StorageError,
    StorageUnavailable,
    validate_key,
)

_NOT_FOUND_CODES = {"NoSuchKey", "NotFound", "404"}
_RETRYABLE_CODES = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestTimeout",
    "InternalError",
    "ServiceUnavailable",
    "RequestTimeTooSkewed",
}


class S3Storage:
    def __init__(
        self,
        *,
        bucket: str,
        access_key_id: str,
        secret_access_key: str,
        endpoint_url: str | None = None,
        region: str | None = None,
        addressing_style: str = "auto",
        timeout_seconds: float = 10.0,
        max_attempts: int = 3,
    ) -> None:
        if not bucket:
            raise ValueError("S3 bucket is required")
        self.bucket = bucket
        # A session of our own: boto3's default session is shared module state and not
        # thread-safe to create clients from; the client itself is thread-safe.
        session = boto3.session.Session()
        self._client = session.client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region or "us-east-1",
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=BotoConfig(
                signature_version="s3v4",
                connect_timeout=timeout_seconds,
                read_timeout=timeout_seconds,
                retries={"total_max_attempts": max_attempts, "mode": "standard"},
                s3={"addressing_style": addressing_style},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )

    def put(self, key: str, data: bytes, media_type: str) -> None:
        validate_key(key)
        try:
            self._client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=media_type)
        except (ClientError, BotoCoreError) as exc:
            raise self._translate("put", key, exc) from exc

    def get(self, key: str) -> bytes:
        validate_key(key)
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=key)
            with response["Body"] as body:
                return body.read()
        except (ClientError, BotoCoreError) as exc:
            raise self._translate("get", key, exc) from exc

    def delete(self, key: str) -> None:
        validate_key(key)
        try:
            # S3 answers 204 whether or not the key existed: deleting twice is not an error.
            self._client.delete_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise self._translate("delete", key, exc) from exc

    def exists(self, key: str) -> bool:
        validate_key(key)
        try:
            self._client.head_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            error = self._translate("head", key, exc)
            if isinstance(error, ObjectNotFound):
                return False
            raise error from exc
        return True

    def close(self) -> None:
        self._client.close()

    @staticmethod
    def _translate(operation: str, key: str, exc: Exception) -> StorageError:
        if isinstance(exc, BotoCoreError):  # connection refused, timeouts, broken responses
            return StorageUnavailable(f"s3 {operation} {key}: {type(exc).__name__}")
        assert isinstance(exc, ClientError)
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in _NOT_FOUND_CODES or (status == 404 and code != "NoSuchBucket"):
            return ObjectNotFound(key)
        if status >= 500 or status == 429 or code in _RETRYABLE_CODES:
            return StorageUnavailable(f"s3 {operation} {key}: {code or status}")
        return StorageError(f"s3 {operation} {key} refused: {code or status}")
