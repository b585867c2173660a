"""Role-matrix rows and requests for the product catalogues (merged into test_role_matrix's MATRIX
and REQUESTS). Catalogues are the insurer's operators' work: reviewers and organisation admins
are refused by role, members and anonymous callers never get in."""

from __future__ import annotations

import io

from tests.catalogues.support import commercial_xlsx
from tests.conftest import bearer

C = "/staff/catalogues"

#                                                    anon member reviewer operator charity
ROWS: dict[tuple[str, str], tuple[int, int, int, int, int]] = {
    (C, "POST"): (401, 401, 403, 201, 403),
    (C, "GET"): (401, 401, 403, 200, 403),
    (f"{C}/<int:version_id>", "GET"): (401, 401, 403, 200, 403),
    (f"{C}/<int:version_id>/entries", "GET"): (401, 401, 403, 200, 403),
    (f"{C}/<int:version_id>/report.csv", "GET"): (401, 401, 403, 200, 403),
}


def _form(label: str) -> dict:
    return {
        "kind": "commercial",
        "product_code": "ganzhou-demo-2026",
        "label": label,
        "effective_from": "2026-01-01",
        "effective_to": "2026-06-30",
        "file": (io.BytesIO(commercial_xlsx()), "商保目录.xlsx"),
    }


def _version(w) -> int:
    """A commercial version the demo operator imported (the second half of 2026 stays free for
    the POST row)."""

    def make() -> int:
        resp = w.client.post(
            C,
            headers=bearer(w.tokens["operator"]),
            data=_form("matrix-1"),
            content_type="multipart/form-data",
        )
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()["version"]["id"]

    return w._once("catalogue_version", make)


REQUESTS = {
    (C, "POST"): lambda w: {
        "content_type": "multipart/form-data",
        "data": {**_form("matrix-post"), "effective_from": "2026-07-01", "effective_to": ""},
    },
    (C, "GET"): lambda w: {"query_string": {"kind": "commercial"}},
    (f"{C}/<int:version_id>", "GET"): lambda w: {"version_id": _version(w)},
    (f"{C}/<int:version_id>/entries", "GET"): lambda w: {
        "version_id": _version(w),
        "query_string": {"page_size": 10},
    },
    (f"{C}/<int:version_id>/report.csv", "GET"): lambda w: {"version_id": _version(w)},
}
