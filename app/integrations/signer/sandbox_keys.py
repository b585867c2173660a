"""The sandbox hospital's SM2 test key pair (NOT a secret: it signs only in the sandbox; a real
institution's public key is registered with `flask direct-settlement add-institution`)."""

SANDBOX_PRIVATE_KEY = "955ec93442d1e893ab9a4cd688608a53b3b00434ea9f600ab46bcdc369198670"
SANDBOX_PUBLIC_KEY = (
    "0646ce850e489fd6f53b91cb1aa32cab37eb736a1cc5ad7c9db1b0bf8c6e1de9"
    "d2776cec8f18d6cb4795e9b9420726feeb668a9f366e0b15cf6ddfd80a1a333e"
)


def sandbox_key_id(fixmedins_code: str) -> str:
    """The key id a sandbox hospital signs under (each demo hospital may be registered)."""
    return f"sandbox-{fixmedins_code}"
