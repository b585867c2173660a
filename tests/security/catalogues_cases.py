"""Cross-owner cases for the catalogue routes (registered into test_object_access's registry).
A catalogue version belongs to no one: operators read it by role. A member's token (the wrong
audience) gets 401, a reviewer or an organisation admin 403, and none of them learns anything
of the version; an id that never existed is the same bare 404 for the operator on every route."""

from __future__ import annotations

import io

from tests.catalogues.support import commercial_xlsx
from tests.conftest import bearer
from tests.security.support import assert_leaks_nothing, assert_problem, assert_unauthorized
from tests.security.test_object_access import UNKNOWN_ID, World, cross_owner

C = "/staff/catalogues"
SECRETS = ["帕博利珠单抗注射液", "XL01XCH165A001010183873", "secret-label-7", "商保目录机密.xlsx"]


@cross_owner(f"{C}/<int:version_id>", "GET")
@cross_owner(f"{C}/<int:version_id>/entries", "GET")
@cross_owner(f"{C}/<int:version_id>/report.csv", "GET")
def _catalogue_version_by_the_wrong_audience_or_role(client, world: World):
    operator = world.staff("demo-operator")
    resp = client.post(
        C,
        headers=bearer(operator),
        data={
            "kind": "commercial",
            "product_code": "ganzhou-demo-2026",
            "label": "secret-label-7",
            "effective_from": "2026-01-01",
            "file": (io.BytesIO(commercial_xlsx()), "商保目录机密.xlsx"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 201, resp.get_json()
    version_id = resp.get_json()["version"]["id"]
    member = world.verified_member("reader-a", "张伟")
    reviewer = world.staff("demo-reviewer")
    org_admin = world.org_admin()
    for suffix in ("", "/entries", "/report.csv"):
        path = f"{C}/{version_id}{suffix}"
        denied = client.get(path, headers=bearer(member))
        assert_unauthorized(denied, "token_audience")
        assert_leaks_nothing(denied, SECRETS)
        for token in (reviewer, org_admin):
            denied = client.get(path, headers=bearer(token))
            assert_problem(denied, 403, "role_forbidden")
            assert_leaks_nothing(denied, SECRETS)
        unknown = client.get(f"{C}/{UNKNOWN_ID}{suffix}", headers=bearer(operator))
        assert_problem(unknown, 404, "catalogue_not_found")
        assert_leaks_nothing(unknown, SECRETS)
        # The route does work for the right role, so the denials above are about who asked.
        assert client.get(path, headers=bearer(operator)).status_code == 200
