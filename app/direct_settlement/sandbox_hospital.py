"""The sandbox hospital: plays a discharge against the hospitals' API as a designated hospital's
system would, signing each request with the sandbox test key (app.integrations.signer).

It takes the stay from the (sandbox) bureau, as the hospital's HIS would hold it after the
medical-insurance platform settled basic insurance: the settlement (setlinfo) and its fees
(feedetail), then asks for a trial, confirms it under its own settlement number, and queries it.
`send(method, path, headers, body) -> (status, json)` is the transport: HTTP to a running
service (the CLI) or a Flask test client (tests)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from app.direct_settlement.rules import canonical
from app.integrations.signer.port import Signer

Send = Callable[[str, str, dict, bytes], tuple[int, Any]]
BASE = "/direct-settlement/v1"


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def plain(record: Any) -> dict:
    """A bureau dataclass (SettlementRecord, FeeDetailRecord) as the API's JSON object."""
    return {k: _plain(v) for k, v in asdict(record).items()}


class SandboxHospital:
    def __init__(self, signer: Signer, key_id: str, private_key: str, send: Send) -> None:
        self.signer, self.key_id, self.private_key, self.send = signer, key_id, private_key, send

    def headers(self, method: str, path: str, body: bytes, *, timestamp: int | None = None) -> dict:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        nonce = secrets.token_hex(16)
        signature = self.signer.sign(self.private_key, canonical(method, path, stamp, nonce, body))
        return {
            "Content-Type": "application/json",
            "X-Inst-Key-Id": self.key_id,
            "X-Timestamp": stamp,
            "X-Nonce": nonce,
            "X-Signature": signature,
        }

    def call(self, method: str, path: str, payload: dict | None = None) -> tuple[int, Any]:
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        return self.send(method, path, self.headers(method, path, body), body)

    def trial(self, setlinfo: dict, feedetail: list[dict]) -> tuple[int, Any]:
        return self.call("POST", BASE + "/trial", {"setlinfo": setlinfo, "feedetail": feedetail})

    def confirm(self, trial_no: str, setl_sn: str) -> tuple[int, Any]:
        return self.call("POST", BASE + "/confirm", {"trial_no": trial_no, "setl_sn": setl_sn})

    def cancel(self, setl_sn: str) -> tuple[int, Any]:
        return self.call("POST", BASE + "/cancel", {"setl_sn": setl_sn})

    def query(self, setl_sn: str) -> tuple[int, Any]:
        return self.call("POST", BASE + "/query", {"setl_sn": setl_sn})

    def reconcile(self, day: str, count: int, sum_fen: int, items=None) -> tuple[int, Any]:
        payload: dict = {"day": day, "count": count, "sum_fen": sum_fen}
        if items is not None:
            payload["items"] = items
        return self.call("POST", BASE + "/reconciliation", payload)

    def discharge(self, setlinfo: dict, feedetail: list[dict], setl_sn: str) -> list[tuple]:
        """trial -> confirm -> query; each step's (name, status, body); stops at a refusal."""
        steps: list[tuple] = []
        status, body = self.trial(setlinfo, feedetail)
        steps.append(("trial", status, body))
        if status != 200:
            return steps
        status, body = self.confirm(body["trial_no"], setl_sn)
        steps.append(("confirm", status, body))
        if status != 200:
            return steps
        steps.append(("query", *self.query(setl_sn)))
        return steps
