"""The real bureau adapter (`HttpBureau`) against a local fake bureau over real HTTP.

The fake below speaks the same wire format with its *own* HMAC/canonical-JSON code (not the
adapter's), so a bug shared by signer and verifier cannot hide: it checks every request's
signature and envelope, answers 1101 from a few synthetic residents, and signs its replies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from stdnum.cn import ric
from werkzeug import Request, Response

from app.integrations.bureau.http_adapter import (
    BureauRejected,
    HmacSha256Signer,
    HttpBureau,
    mask_id_number,
)
from app.integrations.bureau.http_fields import yuan_to_fen
from app.integrations.bureau.port import (
    INSUTYPE_EMPLOYEE,
    INSUTYPE_RESIDENT,
    STATUS_ACTIVE,
    STATUS_SUSPENDED,
    BureauPerson,
    BureauUnavailable,
)

APP_ID = "H36070000001"
SECRET = "test-shared-secret-0f9e8d7c6b5a"
REGION = "360700"

# 2026-11-03 20:30 UTC is already 2026-11-04 04:30 in Shanghai: "today" for the adapter is the
# 4th, so a row that ended on the 3rd is expired only if the adapter uses Shanghai time.
FIXED_UTC = datetime(2026, 11, 3, 20, 30, 0, tzinfo=UTC)
SHANGHAI_INF_TIME = "2026-11-04 04:30:00"


def make_id(first17: str) -> str:
    """A synthetic resident ID with a valid GB 11643 check character."""
    return first17 + ric.calc_check_digit(first17 + "0")


EMPLOYEE_ID = make_id("36070219900307123")
RESIDENT_ID = make_id("36072119850512002")
IDENTITY_ID = make_id("36070219781120345")
NUMERIC_BALC_ID = make_id("36070220010101678")
UNKNOWN_ID = make_id("11010519491231002")  # ends in X: also exercises the check character
ALL_IDS = [EMPLOYEE_ID, RESIDENT_ID, IDENTITY_ID, NUMERIC_BALC_ID, UNKNOWN_ID]


def resident(certno, name, psn_no, gend, brdy, insuinfo, idetinfo=()):
    return {
        "baseinfo": {
            "psn_no": psn_no,
            "certno": certno,
            "psn_name": name,
            "gend": gend,
            "brdy": brdy,
        },
        "insuinfo": list(insuinfo),
        "idetinfo": list(idetinfo),
    }


RESIDENTS = {
    EMPLOYEE_ID: resident(
        EMPLOYEE_ID,
        "张伟",
        "36070000000000000001",
        "1",
        "1990-03-07",
        [
            {
                "insutype": "310",
                "psn_insu_stas": "1",
                "paus_insu_date": None,
                "insuplc_admdvs": "360702",
                "balc": "1234.56",
            }
        ],
        [{"psn_idet_type": "2501", "begntime": "2019-05-01 00:00:00", "endtime": None}],
    ),
    RESIDENT_ID: resident(
        RESIDENT_ID,
        "李娜",
        "36070000000000000002",
        "2",
        "1985-05-12",
        [
            {
                "insutype": "390",
                "psn_insu_stas": "2",
                "paus_insu_date": "2026-07-01",
                "insuplc_admdvs": "360721",
                "balc": None,
            }
        ],
    ),
    IDENTITY_ID: resident(
        IDENTITY_ID,
        "王芳",
        "36070000000000000003",
        "2",
        "1978-11-20",
        [
            {
                "insutype": "390",
                "psn_insu_stas": "1",
                "paus_insu_date": None,
                "insuplc_admdvs": "360702",
                "balc": None,
            }
        ],
        [
            {"psn_idet_type": "2301", "begntime": "2024-01-01", "endtime": None},  # open: kept
            {
                "psn_idet_type": "2302",
                "begntime": "2025-01-01",
                "endtime": "2026-11-04",
            },  # ends today: kept
            {
                "psn_idet_type": "2303",
                "begntime": "2025-01-01",
                "endtime": "2026-11-03",
            },  # ended yesterday (Shanghai)
            {
                "psn_idet_type": "2304",
                "begntime": "2020-01-01",
                "endtime": "2022-12-31 23:59:59",
            },  # long expired
            {"psn_idet_type": "2401", "begntime": "2026-12-01", "endtime": None},  # not started yet
        ],
    ),
    NUMERIC_BALC_ID: resident(
        NUMERIC_BALC_ID,
        "赵磊",
        "36070000000000000004",
        "1",
        "2001-01-01",
        # A JSON *number*: 19.99 * 100 as a float is 1998.9999999999998.
        [
            {
                "insutype": "310",
                "psn_insu_stas": "1",
                "paus_insu_date": None,
                "insuplc_admdvs": "360702",
                "balc": 19.99,
            }
        ],
    ),
}


# --------------------------------------------------------------------------------------------
# The fake bureau


def fake_canonical(obj: dict) -> bytes:
    body = {k: v for k, v in obj.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def fake_sign(obj: dict, secret: str = SECRET) -> str:
    return hmac.new(secret.encode("utf-8"), fake_canonical(obj), hashlib.sha256).hexdigest()


class FakeBureau:
    """A handler for pytest-httpserver that behaves like the city bureau's gateway."""

    def __init__(self, residents: dict[str, dict]) -> None:
        self.residents = residents
        self.received: list[dict] = []  # every parsed envelope, accepted or not
        self.content_types: list[str] = []
        self.rejections: list[str] = []  # why requests were refused
        self.seen_msgids: set[str] = set()
        self.refseq = 0
        # Test hooks: replace the 1101 output, or mutate the reply after it has been signed.
        self.output_override: Callable[[dict], dict] | None = None
        self.after_sign: Callable[[dict], None] | None = None
        # Further interfaces by infno (e.g. the 96xx account debit in test_bureau_account_http):
        # called with the validated envelope, after the signature and envelope checks.
        self.handlers: dict[str, Callable[[dict], Response]] = {}

    def reply(self, infcode: int, err_msg: str = "", output: dict | None = None) -> Response:
        self.refseq += 1
        body = {
            "infcode": infcode,
            "inf_refmsgid": f"360700202611040430000{self.refseq:09d}",
            "refmsg_time": "20261104043000123",
            "respond_time": "20261104043000456",
            "err_msg": err_msg,
            "warn_msg": None,
            "output": output,
        }
        body["signature"] = fake_sign(body)
        if self.after_sign:
            self.after_sign(body)
        # Deliberately not canonical (indented, insertion order): the adapter must verify the
        # parsed content, not the bytes as they happen to be laid out.
        return Response(
            json.dumps(body, ensure_ascii=False, indent=2),
            content_type="application/json; charset=utf-8",
        )

    def refuse(self, why: str) -> Response:
        self.rejections.append(why)
        return self.reply(-1, why)

    def handle(self, request: Request) -> Response:
        self.content_types.append(request.headers.get("Content-Type", ""))
        try:
            env = json.loads(request.get_data())
        except ValueError:
            return self.refuse("报文不是JSON")
        self.received.append(env)

        sig = env.get("signature")
        if not isinstance(sig, str) or not hmac.compare_digest(sig, fake_sign(env)):
            return self.refuse("签名验证失败")

        infno = env.get("infno")
        problems = []
        if request.path != f"/fsi/api/{infno}":
            problems.append("infno与路径不一致")
        if env.get("recer_sys_code") != APP_ID:
            problems.append("recer_sys_code错误")
        if env.get("insuplc_admdvs") != REGION or env.get("mdtrtarea_admvs") != REGION:
            problems.append("区划错误")
        if env.get("signtype") != "HMAC-SHA256":
            problems.append("signtype错误")
        try:
            datetime.strptime(env.get("inf_time", ""), "%Y-%m-%d %H:%M:%S")
        except (TypeError, ValueError):
            problems.append("inf_time格式错误")
        msgid = env.get("msgid", "")
        if not re.fullmatch(re.escape(APP_ID) + r"\d{14}\d{4}", str(msgid)):
            problems.append("msgid格式错误")
        if msgid in self.seen_msgids:
            problems.append("msgid重复")
        self.seen_msgids.add(msgid)
        if not isinstance(env.get("input"), dict):
            problems.append("input缺失")
        if problems:
            return self.refuse("; ".join(problems))

        if infno == "1101":
            data = env["input"].get("data") or {}
            found = self.residents.get(data.get("certno"))
            # Like a gateway that keys on the ID number alone: the record comes back even when
            # the name is wrong, so the name check has to happen in the adapter.
            output = (
                found if found is not None else {"baseinfo": None, "insuinfo": [], "idetinfo": []}
            )
            if self.output_override:
                output = self.output_override(output)
            return self.reply(0, "", output)
        if infno == "5203":
            return self.reply(
                0,
                "",
                {
                    "setlinfo": {
                        "setl_id": env["input"]["data"]["setl_id"],
                        "medfee_sumamt": 1000.05,
                        "hifp_pay": 612.3,
                        "psn_cash_pay": "387.75",
                    }
                },
            )
        if infno in self.handlers:
            return self.handlers[infno](env)
        return self.refuse(f"不支持的交易{infno}")


# --------------------------------------------------------------------------------------------
# Fixtures

ENDPOINT = re.compile(r"^/fsi/api/[0-9A-Za-z]+$")


@pytest.fixture
def fake(httpserver) -> FakeBureau:
    fb = FakeBureau(json.loads(json.dumps(RESIDENTS)))  # a copy each test may mutate
    httpserver.expect_request(ENDPOINT, method="POST").respond_with_handler(fb.handle)
    return fb


def base_url(httpserver) -> str:
    return httpserver.url_for("/").rstrip("/")


@pytest.fixture
def make_bureau(httpserver):
    made: list[HttpBureau] = []

    def _make(**overrides) -> HttpBureau:
        kwargs = dict(
            base_url=base_url(httpserver),
            app_id=APP_ID,
            secret=SECRET,
            region=REGION,
            timeout=2.0,
            clock=lambda: FIXED_UTC,
        )
        kwargs.update(overrides)
        b = HttpBureau(**kwargs)
        made.append(b)
        return b

    yield _make
    for b in made:
        b.close()


@pytest.fixture
def bureau(make_bureau) -> HttpBureau:
    return make_bureau()


def assert_clean(exc: BaseException) -> None:
    """No ID number (of any test resident) and no secret anywhere in the error or its chain."""
    texts = []
    e: BaseException | None = exc
    while e is not None:
        texts += [str(e), repr(e), *map(str, e.args)]
        e = e.__cause__ or e.__context__
    blob = "\n".join(texts)
    for certno in ALL_IDS:
        assert certno not in blob
        assert certno.lower() not in blob
    assert SECRET not in blob


# --------------------------------------------------------------------------------------------
# Found / not found


def test_employee_found_with_exact_balance_in_fen(bureau, fake):
    person = bureau.lookup_person(EMPLOYEE_ID, "张伟")

    assert isinstance(person, BureauPerson)
    assert person.psn_no == "36070000000000000001"
    assert person.certno == EMPLOYEE_ID
    assert person.name == "张伟"
    assert person.gender == "1"
    assert person.birth_date == date(1990, 3, 7)
    assert len(person.insurance) == 1
    rec = person.insurance[0]
    assert rec.insutype == INSUTYPE_EMPLOYEE
    assert rec.insurance_type == "employee"
    assert rec.status == STATUS_ACTIVE and rec.active
    assert rec.region_code == "360702"
    assert rec.paused_on is None
    assert rec.balance_fen == 123456
    assert type(rec.balance_fen) is int
    assert person.identity_types == ["2501"]
    assert person.identity_flags == ["disabled"]


def test_resident_found_suspended_with_pause_date(bureau, fake):
    person = bureau.lookup_person(RESIDENT_ID, "李娜")

    assert person is not None
    rec = person.insurance[0]
    assert rec.insutype == INSUTYPE_RESIDENT
    assert rec.insurance_type == "resident"
    assert rec.status == STATUS_SUSPENDED
    assert not rec.active
    assert rec.paused_on == date(2026, 7, 1)
    assert rec.balance_fen is None
    assert person.gender == "2"
    assert person.identity_types == []


def test_reinstated_resident_has_a_begin_date(bureau, fake):
    """psn_insu_date (the start of the current insured period) is read when the bureau gives
    it, "YYYY-MM-DD HH:MM:SS" included; absent or empty means none (the cases above)."""
    fake.output_override = lambda output: {
        **output,
        "insuinfo": [
            {
                **output["insuinfo"][0],
                "psn_insu_stas": "1",
                "paus_insu_date": "2026-03-01",
                "psn_insu_date": "2026-05-20 00:00:00",
            }
        ],
    }
    rec = bureau.lookup_person(RESIDENT_ID, "李娜").insurance[0]
    assert rec.active and rec.paused_on == date(2026, 3, 1)
    assert rec.begin_date == date(2026, 5, 20)
    fake.output_override = lambda output: {
        **output,
        "insuinfo": [{**output["insuinfo"][0], "psn_insu_date": ""}],
    }
    assert bureau.lookup_person(RESIDENT_ID, "李娜").insurance[0].begin_date is None
    fake.output_override = None
    assert bureau.lookup_person(EMPLOYEE_ID, "张伟").insurance[0].begin_date is None


def test_only_identities_current_today_in_shanghai_are_kept(bureau, fake):
    person = bureau.lookup_person(IDENTITY_ID, "王芳")

    assert person is not None
    # 2301 open-ended and 2302 ending today (Shanghai) stay; 2303 ended on the 3rd (still "today"
    # in UTC), 2304 long expired, and 2401 not yet started are dropped.
    assert person.identity_types == ["2301", "2302"]
    assert person.identity_flags == ["dibao", "tekun"]


def test_numeric_balance_is_converted_without_float_error(bureau, fake):
    person = bureau.lookup_person(NUMERIC_BALC_ID, "赵磊")

    assert person is not None
    assert person.insurance[0].balance_fen == 1999  # int(19.99 * 100) would be 1998


@pytest.mark.parametrize(
    ("balc", "fen"),
    [
        ("1234.56", 123456),
        ("0.005", 1),
        ("2.675", 268),
        ("0.004", 0),
        ("0", 0),
        ("100", 10000),
        (Decimal("19.99"), 1999),
        (7, 700),
        (None, None),
        ("", None),
    ],
)
def test_yuan_to_fen_is_exact_and_half_up(balc, fen):
    assert yuan_to_fen(balc) == fen


def test_unknown_id_is_none(bureau, fake):
    assert bureau.lookup_person(UNKNOWN_ID, "张伟") is None
    assert len(fake.received) == 1  # the bureau really was asked


def test_wrong_name_is_none_and_indistinguishable_from_unknown(bureau, fake):
    wrong_name = bureau.lookup_person(EMPLOYEE_ID, "张三")
    unknown = bureau.lookup_person(UNKNOWN_ID, "张三")

    assert wrong_name is None
    assert wrong_name == unknown
    # The fake did return the full record for the wrong name: the adapter threw it away.
    assert len(fake.received) == 2 and not fake.rejections


def test_reply_for_a_different_certno_is_none(bureau, fake):
    other = RESIDENTS[RESIDENT_ID]
    fake.output_override = lambda output: {
        **other,
        "baseinfo": {**other["baseinfo"], "psn_name": "张伟"},
    }

    assert bureau.lookup_person(EMPLOYEE_ID, "张伟") is None


def test_absent_baseinfo_is_none(bureau, fake):
    fake.output_override = lambda output: {"insuinfo": [], "idetinfo": []}

    assert bureau.lookup_person(EMPLOYEE_ID, "张伟") is None


# --------------------------------------------------------------------------------------------
# What goes over the wire


def test_request_is_signed_and_addressed_correctly(bureau, fake):
    bureau.lookup_person(EMPLOYEE_ID, "张伟")

    assert fake.rejections == []
    env = fake.received[0]
    # The signature checks out with the test's own HMAC code, not the adapter's signer.
    assert hmac.compare_digest(env["signature"], fake_sign(env))
    assert env["infno"] == "1101"
    assert env["insuplc_admdvs"] == REGION
    assert env["mdtrtarea_admvs"] == REGION
    assert env["recer_sys_code"] == APP_ID
    assert env["signtype"] == "HMAC-SHA256"
    assert env["inf_time"] == SHANGHAI_INF_TIME  # the UTC clock was converted to Shanghai
    assert re.fullmatch(re.escape(APP_ID) + r"20261104043000\d{4}", env["msgid"])
    assert env["input"] == {
        "data": {
            "mdtrt_cert_type": "02",
            "mdtrt_cert_no": EMPLOYEE_ID,
            "psn_cert_type": "01",
            "certno": EMPLOYEE_ID,
            "psn_name": "张伟",
        }
    }
    assert fake.content_types[0].startswith("application/json")


def test_msgids_are_unique_per_call(bureau, fake):
    for _ in range(5):
        bureau.lookup_person(EMPLOYEE_ID, "张伟")

    msgids = [env["msgid"] for env in fake.received]
    assert len(set(msgids)) == 5
    assert fake.rejections == []


def test_fake_refuses_a_request_signed_with_the_wrong_secret(make_bureau, fake):
    wrong = make_bureau(secret="not-the-shared-secret")

    with pytest.raises(BureauUnavailable) as info:
        wrong.lookup_person(EMPLOYEE_ID, "张伟")
    assert fake.rejections == ["签名验证失败"]
    assert_clean(info.value)


def test_generic_call_returns_output_with_exact_decimals(bureau, fake):
    output = bureau.call("5203", {"data": {"setl_id": "S0001"}})

    assert fake.received[0]["infno"] == "5203"
    assert output["setlinfo"]["setl_id"] == "S0001"
    assert output["setlinfo"]["medfee_sumamt"] == Decimal("1000.05")
    assert isinstance(output["setlinfo"]["hifp_pay"], Decimal)


# --------------------------------------------------------------------------------------------
# Failures: all BureauUnavailable, none leaking the ID number or the secret


def test_tampered_reply_signature_is_unavailable(bureau, fake):
    def tamper(body):
        body["output"]["insuinfo"][0]["balc"] = "99999.99"  # changed after signing

    fake.after_sign = tamper

    with pytest.raises(BureauUnavailable, match="signature") as info:
        bureau.lookup_person(EMPLOYEE_ID, "张伟")
    assert_clean(info.value)


def test_reply_signed_with_another_key_is_unavailable(bureau, fake):
    def resign(body):
        body["signature"] = fake_sign(body, secret="someone-else")

    fake.after_sign = resign

    with pytest.raises(BureauUnavailable, match="signature") as info:
        bureau.lookup_person(EMPLOYEE_ID, "张伟")
    assert_clean(info.value)


def test_missing_reply_signature_is_unavailable(bureau, fake):
    fake.after_sign = lambda body: body.pop("signature")

    with pytest.raises(BureauUnavailable, match="signature") as info:
        bureau.lookup_person(EMPLOYEE_ID, "张伟")
    assert_clean(info.value)


def test_http_500_is_unavailable(bureau, fake, httpserver):
    httpserver.expect_oneshot_request("/fsi/api/1101", method="POST").respond_with_data(
        f"internal error for {EMPLOYEE_ID}", status=500
    )

    with pytest.raises(BureauUnavailable, match="HTTP 500") as info:
        bureau.lookup_person(EMPLOYEE_ID, "张伟")
    assert_clean(info.value)


def test_redirect_is_not_followed(bureau, fake, httpserver):
    httpserver.expect_oneshot_request("/fsi/api/1101", method="POST").respond_with_data(
        "", status=302, headers={"Location": "http://example.invalid/steal"}
    )

    with pytest.raises(BureauUnavailable, match="HTTP 302"):
        bureau.lookup_person(EMPLOYEE_ID, "张伟")


def test_timeout_is_unavailable(make_bureau, fake, httpserver):
    release = threading.Event()  # the reply comes only when released (or after 30 s)

    def slow(request):
        release.wait(30)
        return fake.handle(request)

    httpserver.expect_oneshot_request("/fsi/api/1101", method="POST").respond_with_handler(slow)
    quick = make_bureau(timeout=0.2)

    started = time.monotonic()
    try:
        with pytest.raises(BureauUnavailable, match="timed out") as info:
            quick.lookup_person(EMPLOYEE_ID, "张伟")
        assert time.monotonic() - started < 15  # gave up at the timeout, did not wait it out
    finally:
        release.set()
    assert_clean(info.value)


def test_connection_refused_is_unavailable(make_bureau):
    with socket.socket() as s:  # a port that was free a moment ago and has no listener now
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    nowhere = make_bureau(base_url=f"http://127.0.0.1:{port}")

    with pytest.raises(BureauUnavailable, match="transport error") as info:
        nowhere.lookup_person(EMPLOYEE_ID, "张伟")
    assert_clean(info.value)


def test_non_json_reply_is_unavailable(bureau, fake, httpserver):
    httpserver.expect_oneshot_request("/fsi/api/1101", method="POST").respond_with_data(
        f"<html>gateway says {EMPLOYEE_ID}</html>", status=200, content_type="text/html"
    )

    with pytest.raises(BureauUnavailable, match="not JSON") as info:
        bureau.lookup_person(EMPLOYEE_ID, "张伟")
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert_clean(info.value)


def test_non_zero_infcode_is_unavailable_and_echoed_id_is_masked(bureau, fake, httpserver):
    def refuse(request):
        return fake.reply(-1, f"人员{EMPLOYEE_ID}参保信息异常")

    httpserver.expect_oneshot_request("/fsi/api/1101", method="POST").respond_with_handler(refuse)

    with pytest.raises(BureauUnavailable) as info:
        bureau.lookup_person(EMPLOYEE_ID, "张伟")
    assert isinstance(info.value, BureauRejected)
    assert info.value.infcode == -1
    assert mask_id_number(EMPLOYEE_ID) in str(info.value)  # the useful part survives, masked
    assert_clean(info.value)


def test_string_zero_infcode_is_success(bureau, fake, httpserver):
    def ok_as_string(request):
        fake.handle(request)  # validate the request as usual
        body = {
            "infcode": "0",
            "err_msg": None,
            "output": RESIDENTS[EMPLOYEE_ID],
            "inf_refmsgid": "r1",
        }
        body["signature"] = fake_sign(body)
        return Response(json.dumps(body, ensure_ascii=False), content_type="application/json")

    httpserver.expect_oneshot_request("/fsi/api/1101", method="POST").respond_with_handler(
        ok_as_string
    )

    person = bureau.lookup_person(EMPLOYEE_ID, "张伟")
    assert person is not None and person.insurance[0].balance_fen == 123456


@pytest.mark.parametrize(
    "breakage",
    [
        lambda o: {**o, "baseinfo": {**o["baseinfo"], "brdy": "1990-02-30"}},
        lambda o: {**o, "baseinfo": "张伟"},
        lambda o: {**o, "insuinfo": {"insutype": "310"}},
        lambda o: {**o, "insuinfo": [{**o["insuinfo"][0], "balc": "a lot"}]},
        lambda o: {**o, "insuinfo": [{**o["insuinfo"][0], "insutype": None}]},
        lambda o: {
            **o,
            "idetinfo": [{"psn_idet_type": "2301", "begntime": "2024-01-01", "endtime": "soon"}],
        },
    ],
    ids=[
        "bad-brdy",
        "baseinfo-not-object",
        "insuinfo-not-list",
        "bad-balc",
        "no-insutype",
        "bad-endtime",
    ],
)
def test_malformed_output_is_unavailable(bureau, fake, breakage):
    fake.output_override = breakage

    with pytest.raises(BureauUnavailable, match="malformed") as info:
        bureau.lookup_person(EMPLOYEE_ID, "张伟")
    assert_clean(info.value)


# --------------------------------------------------------------------------------------------
# The signer on its own


def test_hmac_signer_round_trip_and_rejections():
    signer = HmacSha256Signer(SECRET)
    payload = '{"a":"张伟"}'.encode()
    sig = signer.sign(payload)

    assert sig == hmac.new(SECRET.encode(), payload, hashlib.sha256).hexdigest()
    assert signer.verify(payload, sig)
    assert signer.verify(payload, sig.upper())
    assert not signer.verify(payload + b" ", sig)
    assert not signer.verify(payload, sig[:-1])
    assert not signer.verify(payload, "")
    assert not signer.verify(payload, "签名")
    assert not signer.verify(payload, None)  # type: ignore[arg-type]
    assert SECRET not in repr(signer)
    with pytest.raises(ValueError):
        HmacSha256Signer("")


def test_mask_id_number():
    assert mask_id_number(EMPLOYEE_ID) == EMPLOYEE_ID[:4] + "********" + EMPLOYEE_ID[-4:]
