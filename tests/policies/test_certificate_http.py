"""The electronic certificate through HTTP: 张伟 pays for himself, fetches the certificate as
data and as a PNG, the QR code in the PNG decodes (zxing-cpp) to the JSON's verification link,
and following that link shows the live status, masked, to anyone; a tampered link shows nothing.

The certificate is drawn with the font the project ships (app/fonts), never a host font.
"""

from __future__ import annotations

import io
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
import zxingcpp
from PIL import Image

from app.identity.idnumber import mask, mask_name
from tests.conftest import bearer, login, verify
from tests.enrollment.conftest import NOW, key, pay, place_order
from tests.security.support import assert_leaks_nothing, assert_problem

ZHANG_WEI_ID_MASKED = "3607**********0119"


@pytest.fixture
def zhang_wei(client, seeded, residents):
    """张伟, verified, on 2026-11-23 10:00 Shanghai (the demo product's window is open)."""
    with time_machine.travel(NOW, tick=True):
        token = login(client, "cert-zhang")["access_token"]
        assert verify(client, token, residents["张伟"]).status_code == 200
        yield token


def _insure_himself(client, token) -> dict:
    order = place_order(client, {"token": token}, [], include_self=True)
    paid = pay(client, {"token": token}, order["id"])
    assert paid.status_code == 200 and paid.get_json()["state"] == "paid", paid.get_json()
    [policy] = client.get("/policies", headers=bearer(token)).get_json()
    assert policy["status"] == "active"
    return policy


def _local(url: str) -> str:
    """The path and query of an absolute link, for the test client."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _one_char_changed(token: str, index: int) -> str:
    assert token[index] != "."
    return token[:index] + ("B" if token[index] == "A" else "A") + token[index + 1 :]


def test_certificate_png_qr_links_to_the_live_public_check(client, residents, zhang_wei):
    zhang = residents["张伟"]
    policy = _insure_himself(client, zhang_wei)

    # The certificate as data: the ID number masked, never in full.
    data_resp = client.get(f"/policies/{policy['id']}/certificate", headers=bearer(zhang_wei))
    assert data_resp.status_code == 200, data_resp.get_json()
    data = data_resp.get_json()
    assert mask(zhang.certno) == ZHANG_WEI_ID_MASKED
    assert data["insured_id_number_masked"] == ZHANG_WEI_ID_MASKED
    assert data["relation"] == "本人"
    assert data["policy"]["id"] == policy["id"]
    assert data["png_url"] == f"/policies/{policy['id']}/certificate.png"
    assert_leaks_nothing(data_resp, [zhang.certno, zhang.name])
    verify_url = data["verify_url"]
    assert urlsplit(verify_url).path == "/public/certificates/verify"
    token = parse_qs(urlsplit(verify_url).query)["token"][0]

    # The PNG: its QR code is exactly that link.
    png_resp = client.get(data["png_url"], headers=bearer(zhang_wei))
    assert png_resp.status_code == 200
    assert png_resp.mimetype == "image/png"
    png = png_resp.get_data()
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    results = zxingcpp.read_barcodes(image)
    assert len(results) == 1 and results[0].format == zxingcpp.BarcodeFormat.QRCode
    assert results[0].text == verify_url

    # Following the link: anyone (no token) sees the masked name, product and live status.
    check = client.get(_local(results[0].text))
    assert check.status_code == 200, check.get_json()
    shown = check.get_json()
    # Paid on 2026-11-23 after the coverage start: the 2026 terms give cover from the day of
    # payment (自缴费成功之日起), so the certificate checks as in force at once.
    assert policy["coverage_start"] == "2026-11-23"
    assert shown["checked_on"] == "2026-11-23"
    in_force = shown
    with time_machine.travel("2026-11-22T12:00:00+08:00"):
        early = client.get(_local(verify_url)).get_json()
    assert (early["valid"], early["verdict"], early["verdict_label"]) == (
        False,
        "not_yet_effective",
        "未生效",
    )
    assert (in_force["valid"], in_force["verdict"], in_force["verdict_label"]) == (
        True,
        "in_force",
        "有效",
    )
    with time_machine.travel("2027-01-01T00:00:00+08:00"):
        ended = client.get(_local(verify_url)).get_json()
    assert (ended["valid"], ended["verdict"], ended["verdict_label"]) == (
        False,
        "expired",
        "已过期",
    )
    assert shown["policy_no"] == policy["policy_no"]
    assert shown["insured_name_masked"] == mask_name(zhang.name) == "*伟"
    assert shown["product_name"] == data["product_name"]
    assert (shown["coverage_start"], shown["coverage_end"]) == (
        policy["coverage_start"],
        policy["coverage_end"],
    )
    assert (shown["status"], shown["status_label"]) == ("active", "有效")
    assert_leaks_nothing(check, [zhang.name, zhang.certno, ZHANG_WEI_ID_MASKED, zhang.psn_no])

    # One character changed anywhere in the token: not found, and nothing of the policy shown.
    dot = token.index(".")
    for index in (0, dot // 2, dot - 1, dot + 1, len(token) - 1):
        forged = _one_char_changed(token, index)
        resp = client.get("/public/certificates/verify", query_string={"token": forged})
        assert_problem(resp, 404, "certificate_invalid")
        assert_leaks_nothing(
            resp, [policy["policy_no"], zhang.name, mask_name(zhang.name), data["product_name"]]
        )

    # After surrender the same link shows the policy void.
    surrendered = client.post(
        f"/policies/{policy['id']}/surrender", headers={**bearer(zhang_wei), **key()}
    )
    assert surrendered.status_code == 200, surrendered.get_json()
    assert surrendered.get_json()["policy"]["status"] == "void"
    after = client.get(_local(verify_url))
    assert after.status_code == 200, after.get_json()
    # A surrendered (void) policy gives no cover: the certificate is genuine but not valid.
    assert after.get_json()["valid"] is False
    assert (after.get_json()["verdict"], after.get_json()["verdict_label"]) == (
        "terminated",
        "已终止",
    )
    assert (after.get_json()["status"], after.get_json()["status_label"]) == ("void", "已终止")
    assert after.get_json()["policy_no"] == policy["policy_no"]
