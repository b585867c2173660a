"""Storage on the local file system: the default in development and tests, and acceptable in
production on an explicitly configured, persistent volume (see app/config.py).

- Writes are atomic: a temporary file in the target directory, fsync, then `os.replace`, so a
  reader sees the old object or the new one, never half of one, even after a crash.
- Files are 0600 and directories 0700: health documents are readable by the service's user only.
- Every path is resolved and must stay under the root, so neither a crafted key nor a symbolic
  link planted inside the root can reach outside it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from app.integrations.storage.port import (
    ObjectNotFound,
    StorageError,
    validate_key,
)

_TEMP_PREFIX = ".tmp-"  # keys cannot start a segment with '.', so no key ever names a temp file


class LocalDiskStorage:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        root_path = Path(root)
        root_path.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.root = root_path.resolve(strict=True)

    def _path(self, key: str) -> Path:
        validate_key(key)
        # resolve() follows any symbolic link on the way; the result must still be under root.
        path = (self.root / key).resolve(strict=False)
        if not path.is_relative_to(self.root) or path == self.root:
            raise StorageError(f"storage key {key!r} resolves outside the storage root")
        return path

    def put(self, key: str, data: bytes, media_type: str) -> None:
        path = self._path(key)
        self._make_parents(path)
        fd, temp_name = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=path.parent)  # mode 0600
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_name, path)
        except BaseException:
            try:
                os.unlink(temp_name)
            except FileNotFoundError:
                pass
            raise
        self._fsync_directory(path.parent)

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            with open(path, "rb") as handle:
                return handle.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise ObjectNotFound(key) from exc

    def delete(self, key: str) -> None:
        path = self._path(key)
        if path.is_dir():  # a "folder" of other keys (claims/7) is not an object: nothing to do
            return
        path.unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def _make_parents(self, path: Path) -> None:
        """Create missing directories one by one with 0700 (mkdir's `parents=True` would give
        the intermediate ones the umask's mode), refusing any that resolves outside root."""
        missing = []
        parent = path.parent
        while parent != self.root and not parent.exists():
            missing.append(parent)
            parent = parent.parent
        for directory in reversed(missing):
            try:
                directory.mkdir(mode=0o700)
            except FileExistsError:
                pass  # made by a concurrent put
        if not path.parent.resolve(strict=True).is_relative_to(self.root):
            raise StorageError("storage directory resolves outside the storage root")

    @staticmethod
    def _fsync_directory(directory: Path) -> None:
        """Make the rename itself durable (POSIX: the directory entry lives in the directory)."""
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
