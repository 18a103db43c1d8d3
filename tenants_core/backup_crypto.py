"""Backups at rest: a streaming, chunked AES-256-GCM file format, and the key ring it uses.

Backups hold health data, so the file on disk is sealed; the key comes from the environment
(``BACKUP_ENCRYPTION_KEYS``) and is separate from ``SECRET_KEY``.

Format (big-endian), after the STREAM construction of Hoang, Reyhanitabar, Rogaway and
Vizár (the one Tink's AES-GCM-HKDF streaming AEAD uses)::

    header = MAGIC (8) | version (1) | key id length (1) | key id (ASCII)
             | chunk size (4) | salt (16) | nonce prefix (7) | key check (16)
    chunk i = AES-256-GCM(file key, nonce = prefix | i (4) | last (1), plaintext, aad = header)

- The file key is HKDF-SHA256 of the master key with the file's random salt, so no two files
  share a key and nonces never repeat across files.
- Every chunk but the last holds exactly ``chunk size`` bytes of plaintext; its index and a
  last-chunk flag are in its nonce. Reordering, swapping chunks (within a file or between
  files), truncation at any point and appended bytes all fail authentication. The header is
  the associated data of every chunk, so it cannot be edited either.
- The key check is HKDF-SHA256 of the master key with the key id and a label of its own (no
  salt): it tells a listed key id holding other key material (``BackupKeyWrong``) apart from
  an altered file (``BackupCorrupted``) before any chunk is opened. It depends on the master
  key only, so a damaged salt is still a damaged file; when the check itself was altered,
  the first chunk still authenticates under the configured key, and that is a damaged file
  too. It reveals nothing of the key (an HKDF output), and only that files share a key,
  which their key id says anyway.
- Nothing needs the whole file in memory: one chunk at a time, both ways.

This module knows no Django: ``backend.settings`` uses it to check the configuration.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import re
import secrets
import struct
from dataclasses import dataclass, field
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"DSBKAES\x00"
VERSION = 1
CHUNK_SIZE = 64 * 1024
TAG_SIZE = 16
SALT_SIZE = 16
NONCE_PREFIX_SIZE = 7
KEY_SIZE = 32
KEY_CHECK_SIZE = 16
MIN_CHUNK_SIZE, MAX_CHUNK_SIZE = 1024, 16 * 1024 * 1024
_KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_HKDF_INFO = b"dental-saas clinic backup v1\x00"
_KEY_CHECK_INFO = b"dental-saas clinic backup key check v1\x00"


class BackupCryptoError(Exception):
    """A sealed file cannot be opened."""


class BackupKeyUnknown(BackupCryptoError):
    def __init__(self, key_id: str) -> None:
        super().__init__(f"no backup key {key_id!r} is configured")
        self.key_id = key_id


class BackupKeyWrong(BackupCryptoError):
    """The key configured under the file's key id is not the key the file was sealed with."""

    def __init__(self, key_id: str) -> None:
        super().__init__(f"the backup key {key_id!r} configured is not the one this file needs")
        self.key_id = key_id


class BackupCorrupted(BackupCryptoError):
    """Authentication failed: tampering, truncation, reordering or damage."""


class NotSealed(BackupCryptoError):
    """The file does not start with the format's magic."""


class UnsupportedVersion(BackupCryptoError):
    """A later version of the format (a newer platform wrote it)."""


# --- keys ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupKey:
    key_id: str
    material: bytes = field(repr=False)


@dataclass(frozen=True)
class KeyRing:
    """The configured keys: the first seals new backups, every one opens old ones."""

    keys: tuple[BackupKey, ...]

    @property
    def primary(self) -> BackupKey:
        return self.keys[0]

    def get(self, key_id: str) -> BackupKey | None:
        return next((key for key in self.keys if key.key_id == key_id), None)


def parse_keys(text: str) -> KeyRing:
    """Parse ``<key-id>:<base64 of 32 bytes>[,<key-id>:<base64>...]``. Raises ``ValueError``
    with a message that never repeats key material."""
    keys: list[BackupKey] = []
    for position, item in enumerate((text or "").split(","), start=1):
        item = item.strip()
        if not item:
            continue
        key_id, colon, encoded = item.partition(":")
        key_id = key_id.strip()
        if not colon or not _KEY_ID.fullmatch(key_id):
            raise ValueError(
                f"entry {position} is not <key-id>:<base64 key>; a key id is 1-64 letters, "
                "digits, '.', '_' or '-', starting with a letter or digit"
            )
        try:
            material = base64.b64decode(encoded.strip(), altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            material = b""
        if len(material) != KEY_SIZE:
            raise ValueError(f"key {key_id!r} is not the base64 of exactly {KEY_SIZE} bytes")
        if any(key.key_id == key_id for key in keys):
            raise ValueError(f"key id {key_id!r} appears twice")
        keys.append(BackupKey(key_id, material))
    if not keys:
        raise ValueError("no key given")
    return KeyRing(tuple(keys))


def generate_key(key_id: str) -> str:
    """A new ``<key-id>:<base64>`` entry for ``BACKUP_ENCRYPTION_KEYS``."""
    if not _KEY_ID.fullmatch(key_id):
        raise ValueError(f"invalid key id {key_id!r}")
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_SIZE)).decode()}"


# --- format -------------------------------------------------------------------------------


def _file_key(master: bytes, salt: bytes, key_id: str) -> AESGCM:
    derived = HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_SIZE,
        salt=salt,
        info=_HKDF_INFO + key_id.encode("ascii"),
    ).derive(master)
    return AESGCM(derived)


def key_check(key: BackupKey) -> bytes:
    """The value in the header of every file sealed with ``key``."""
    return HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_CHECK_SIZE,
        salt=None,
        info=_KEY_CHECK_INFO + key.key_id.encode("ascii"),
    ).derive(key.material)


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + struct.pack(">I?", index, last)


def _header(key: BackupKey, chunk_size: int, salt: bytes, prefix: bytes) -> bytes:
    encoded = key.key_id.encode("ascii")
    return (
        MAGIC
        + struct.pack(">BB", VERSION, len(encoded))
        + encoded
        + struct.pack(">I", chunk_size)
        + salt
        + prefix
        + key_check(key)
    )


class SealingWriter:
    """A write-only file object: what is written to it goes to ``sink`` sealed, one chunk at a
    time. ``close()`` seals the last chunk (it does not close ``sink``)."""

    def __init__(self, sink: BinaryIO, key: BackupKey, *, chunk_size: int = CHUNK_SIZE) -> None:
        if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError("chunk size out of range")
        self._sink = sink
        self._chunk_size = chunk_size
        salt, self._prefix = os.urandom(SALT_SIZE), os.urandom(NONCE_PREFIX_SIZE)
        self._header = _header(key, chunk_size, salt, self._prefix)
        self._aead = _file_key(key.material, salt, key.key_id)
        self._buffer = bytearray()
        self._index = 0
        self.closed = False
        sink.write(self._header)

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self.closed:
            raise ValueError("write to a closed SealingWriter")
        self._buffer += data
        # Keep at least one byte back: the last chunk is sealed by close(), as the last.
        if len(self._buffer) > self._chunk_size:
            cut = (len(self._buffer) - 1) // self._chunk_size * self._chunk_size
            view = memoryview(self._buffer)
            for start in range(0, cut, self._chunk_size):
                self._seal(view[start : start + self._chunk_size], last=False)
            view.release()
            del self._buffer[:cut]
        return len(data)

    def flush(self) -> None:
        self._sink.flush()

    def close(self) -> None:
        if not self.closed:
            self._seal(self._buffer, last=True)
            self._buffer = bytearray()
            self.closed = True

    def _seal(self, plaintext: bytes | bytearray | memoryview, *, last: bool) -> None:
        if self._index > 0xFFFFFFFF:
            raise ValueError("backup too large for one sealed file")
        nonce = _nonce(self._prefix, self._index, last)
        self._sink.write(self._aead.encrypt(nonce, bytes(plaintext), self._header))
        self._index += 1

    def __enter__(self) -> SealingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()


def read_header(source: BinaryIO) -> tuple[str, int, bytes]:
    """Read the header at the start of ``source``: ``(key_id, chunk_size, header_bytes)``."""
    fixed = source.read(len(MAGIC) + 2)
    if len(fixed) < len(MAGIC) + 2 or fixed[: len(MAGIC)] != MAGIC:
        raise NotSealed("not a sealed backup")
    version, id_length = struct.unpack(">BB", fixed[len(MAGIC) :])
    if version != VERSION:
        raise UnsupportedVersion(f"format version {version}")
    rest_size = id_length + 4 + SALT_SIZE + NONCE_PREFIX_SIZE + KEY_CHECK_SIZE
    rest = source.read(rest_size)
    if len(rest) != rest_size:
        raise BackupCorrupted("truncated header")
    try:
        key_id = rest[:id_length].decode("ascii")
    except UnicodeDecodeError:
        raise BackupCorrupted("bad key id") from None
    if not _KEY_ID.fullmatch(key_id):
        raise BackupCorrupted("bad key id")
    (chunk_size,) = struct.unpack(">I", rest[id_length : id_length + 4])
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise BackupCorrupted("bad chunk size")
    return key_id, chunk_size, fixed + rest


class OpeningReader:
    """A read-only file object over a sealed ``source``: returns plaintext, authenticating
    each chunk before handing out any of it. Reading to the end (``b""``) means the last
    chunk was authenticated as the last one: nothing was cut off or appended.

    Raises ``BackupKeyUnknown`` (the key id is not in ``keys``) or ``BackupKeyWrong`` (the key
    under that id is another one) on creation, having opened no chunk."""

    def __init__(self, source: BinaryIO, keys: KeyRing) -> None:
        self.key_id, chunk_size, self._header = read_header(source)
        key = keys.get(self.key_id)
        if key is None:
            raise BackupKeyUnknown(self.key_id)
        check_start = len(self._header) - KEY_CHECK_SIZE
        prefix_start = check_start - NONCE_PREFIX_SIZE
        salt = self._header[prefix_start - SALT_SIZE : prefix_start]
        self._prefix = self._header[prefix_start:check_start]
        self._aead = _file_key(key.material, salt, self.key_id)
        self._source = source
        self._sealed_size = chunk_size + TAG_SIZE
        self._ahead = source.read(self._sealed_size)
        self._plain = b""
        self._offset = 0
        self._index = 0
        self._done = False
        expected = key_check(key)
        if not hmac.compare_digest(self._header[check_start:], expected):
            # Either another key under this id, or the check itself was altered: then the
            # first chunk authenticates under the header as it was written.
            if self._first_chunk_authenticates(self._header[:check_start] + expected):
                raise BackupCorrupted("the header's key check was altered")
            raise BackupKeyWrong(self.key_id)

    def _first_chunk_authenticates(self, header: bytes) -> bool:
        for last in (False, True):
            try:
                self._aead.decrypt(_nonce(self._prefix, 0, last), self._ahead, header)
            except (InvalidTag, ValueError):
                continue
            return True
        return False

    @property
    def header(self) -> bytes:
        return self._header

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            parts = [self._plain[self._offset :]]
            self._plain, self._offset = b"", 0
            while self._next_chunk():
                parts.append(self._plain)
                self._plain = b""
            return b"".join(parts)
        while self._offset >= len(self._plain):
            if not self._next_chunk():
                return b""
        data = self._plain[self._offset : self._offset + size]
        self._offset += len(data)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _next_chunk(self) -> bool:
        if self._done:
            return False
        sealed = self._ahead
        if len(sealed) < self._sealed_size:
            last = True
        else:
            self._ahead = self._source.read(self._sealed_size)
            last = not self._ahead
        if len(sealed) < TAG_SIZE:
            raise BackupCorrupted("truncated chunk")
        try:
            self._plain = self._aead.decrypt(
                _nonce(self._prefix, self._index, last), sealed, self._header
            )
        except InvalidTag:
            raise BackupCorrupted(f"chunk {self._index} does not authenticate") from None
        self._offset = 0
        self._index += 1
        self._done = last
        return True

    def close(self) -> None:
        pass


if __name__ == "__main__":  # python -m tenants_core.backup_crypto <key-id>
    import sys

    print(generate_key(sys.argv[1] if len(sys.argv) > 1 else "k1"))
