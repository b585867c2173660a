from tests.conftest import add_relative, bearer, login, verify


def test_login_verify_add_relative_and_isolation(client, seeded, residents):
    a = login(client, "member-a")
    assert a["new_member"] is True and a["identity_verified"] is False
    resp = verify(client, a["access_token"], residents["张伟"])
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["person"]["insurance_type"] == "employee"
    assert (
        body["person"]["id_number_masked"]
        == residents["张伟"].certno[:4] + "*" * 10 + residents["张伟"].certno[-4:]
    )
    assert residents["张伟"].certno not in resp.get_data(as_text=True)

    resp = add_relative(client, a["access_token"], residents["李娜"], "spouse")
    assert resp.status_code == 201, resp.get_json()
    rel_id = resp.get_json()["id"]

    b = login(client, "member-b")
    resp = client.get(f"/me/relatives/{rel_id}", headers=bearer(b["access_token"]))
    assert resp.status_code == 404
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert "李娜" not in resp.get_data(as_text=True)
    assert resp.get_json()["code"] == "relative_not_found"
