"""Role-matrix rows and requests for direct settlement (merged into test_role_matrix's MATRIX,
REQUESTS and PUBLIC_REFUSALS). The hospitals' API takes no bearer token at all: every caller
without an institution's signature is refused alike (401 direct_signature_missing; the signed
cases are in tests/direct_settlement). The reconciliation reports are the operators'."""

from __future__ import annotations

P = "/direct-settlement/v1"
SIGNED = ("/trial", "/confirm", "/cancel", "/query", "/reconciliation")

#                                                    anon member reviewer operator charity
ROWS: dict[tuple[str, str], tuple[int, int, int, int, int]] = {
    **{(P + path, "POST"): (401, 401, 401, 401, 401) for path in SIGNED},
    ("/staff/direct-settlement/reconciliations", "GET"): (401, 401, 403, 200, 403),
}

REFUSALS = {(P + path, "POST"): "direct_signature_missing" for path in SIGNED}

_BODIES = {
    "/trial": {"setlinfo": {}, "feedetail": []},
    "/confirm": {"trial_no": "DT1", "setl_sn": "SN1"},
    "/cancel": {"setl_sn": "SN1"},
    "/query": {"setl_sn": "SN1"},
    "/reconciliation": {"day": "2026-11-23", "count": 0, "sum_fen": 0},
}

REQUESTS = {
    **{(P + path, "POST"): (lambda w, body=body: {"json": body}) for path, body in _BODIES.items()},
    ("/staff/direct-settlement/reconciliations", "GET"): lambda w: {},
}
