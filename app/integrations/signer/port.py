"""The signer port: sign and verify a request's canonical bytes with an institution's key.

The national medical-insurance platform and the hospitals sign with SM2 (GB/T 32918) over an SM3
digest; `app.integrations.signer.sm2` is that scheme. Keys travel as hex: a private key is 64 hex
digits, a public key the 128 hex digits of the uncompressed point (x || y, without the 04 prefix),
a signature the 128 hex digits of r || s. `verify` never raises on a malformed key or signature:
it answers False, so a bad header is a refusal, not a 500.
"""

from __future__ import annotations

from typing import Protocol


class Signer(Protocol):
    scheme: str

    def sign(self, private_key_hex: str, message: bytes) -> str: ...

    def verify(self, public_key_hex: str, message: bytes, signature_hex: str) -> bool: ...

    def public_key_of(self, private_key_hex: str) -> str: ...

    def is_public_key(self, public_key_hex: str) -> bool: ...
