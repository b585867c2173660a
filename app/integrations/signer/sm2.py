"""SM2 signatures over SM3 (the `gmssl` package, pure Python), with the default user id
1234567812345678 that the national platform's SDKs use for ZA."""

from __future__ import annotations

import re

from gmssl import sm2

_HEX = re.compile(r"^[0-9a-fA-F]+$")


def _hex(value: str, length: int) -> bool:
    return isinstance(value, str) and len(value) == length and bool(_HEX.match(value))


class Sm2Signer:
    scheme = "SM2-SM3"

    def public_key_of(self, private_key_hex: str) -> str:
        if not _hex(private_key_hex, 64):
            raise ValueError("an SM2 private key is 64 hex digits")
        crypt = sm2.CryptSM2(private_key=private_key_hex, public_key="")
        return str(crypt._kg(int(private_key_hex, 16), sm2.default_ecc_table["g"]))

    def sign(self, private_key_hex: str, message: bytes) -> str:
        public = self.public_key_of(private_key_hex)
        crypt = sm2.CryptSM2(private_key=private_key_hex, public_key=public)
        return str(crypt.sign_with_sm3(message))

    def verify(self, public_key_hex: str, message: bytes, signature_hex: str) -> bool:
        if not _hex(public_key_hex, 128) or not _hex(signature_hex, 128):
            return False
        crypt = sm2.CryptSM2(private_key="", public_key=public_key_hex)
        try:
            return bool(crypt.verify_with_sm3(signature_hex.lower(), message))
        except (ValueError, ZeroDivisionError):
            return False
