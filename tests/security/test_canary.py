"""Privacy canary (QUALITY.md): known ID numbers go through the member and staff flows, including
failed verifications and a crash inside the bureau adapter; none of them may then be found in any
response (status, headers, body), any log record (message, arguments, extras, traceback) at DEBUG
for every logger, the process's stdout/stderr, or in plaintext in any column of any table.

Every GET route in the url_map is called, so new read routes are covered without editing this
file (their path ids are filled from the flow's own objects, or 1).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import logging
import re
from datetime import date, datetime

import pytest
from flask.testing import FlaskClient
from sqlalchemy import MetaData, select

from app.demo.seed import DEMO_STAFF_PASSWORD, seed_demo
from app.identity.idnumber import mask, with_check_digit
from app.ops.logs import TextFormatter
from tests.conftest import CONSENT, GUARDIAN_CONSENT, bearer, login
from tests.security.support import api_routes, page_routes, response_text, staff_login
from tests.web.support import signed_in

LOGGERS = (
    "",
    "app",
    "werkzeug",
    "flask.app",
    "sqlalchemy.engine",
    "sqlalchemy.pool",
    "httpx",
    "flask_limiter",
    "argon2",
)


class RecordingClient(FlaskClient):
    """A test client that keeps every response it gets."""

    responses: list

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        self.responses.append((args[0] if args else kwargs.get("path"), response))
        return response


def _body(resident, **overrides) -> dict:
    body = {"name": resident.name, "id_number": resident.certno, "consent": CONSENT}
    body.update(overrides)
    return body


def _bad_check_char(certno: str) -> str:
    for char in "0123456789X":
        if char != certno[-1]:
            return certno[:-1] + char
    raise AssertionError


_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{24,}={0,2}")


def _base64_decodings(text: str) -> str:
    """Every base64-looking run in `text`, decoded (standard and URL-safe alphabets)."""
    decoded = []
    for run in _BASE64_RUN.findall(text):
        padded = run.rstrip("=") + "=" * (-len(run.rstrip("=")) % 4)
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                decoded.append(decode(padded).decode("latin-1"))
            except (binascii.Error, ValueError):
                pass
    return "\n".join(decoded)


def _as_text(value) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


@pytest.fixture
def capture_all_logs(caplog):
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name or None)
    return caplog


def test_no_id_number_anywhere(
    app_factory, residents, capture_all_logs, capfd, monkeypatch, request
):
    caplog = capture_all_logs
    # The development log format as well (it appends the request id to every line).
    dev_log = io.StringIO()
    dev_handler = logging.StreamHandler(dev_log)
    dev_handler.setFormatter(TextFormatter())
    logging.getLogger().addHandler(dev_handler)
    request.addfinalizer(lambda: logging.getLogger().removeHandler(dev_handler))
    app = app_factory()
    app.test_client_class = RecordingClient
    RecordingClient.responses = []
    with app.app_context():
        seed_demo()
    client = app.test_client()
    zhang, li, baby, liu = (residents[n] for n in ("张伟", "李娜", "张小宝", "刘强"))
    unknown = with_check_digit("36070219990101123")  # valid shape and check character, nobody
    bad_checksum = _bad_check_char(zhang.certno)
    used_ids = {zhang.certno, li.certno, baby.certno, liu.certno, unknown, bad_checksum}

    # Member A: verified 张伟 with a spouse and a child (guardian consent).
    a = login(client, "canary-a")
    ta = a["access_token"]
    assert client.post("/me/identity", headers=bearer(ta), json=_body(zhang)).status_code == 200
    spouse = client.post("/me/relatives", headers=bearer(ta), json=_body(li, relation="spouse"))
    assert spouse.status_code == 201
    child = client.post(
        "/me/relatives",
        headers=bearer(ta),
        json=_body(baby, relation="child", guardian_consent=GUARDIAN_CONSENT),
    )
    assert child.status_code == 201

    # Member B: a string of failed verifications, then verified as 刘强.
    b = login(client, "canary-b")
    tb = b["access_token"]
    failures = [
        (_body(zhang, name="张三"), 422),  # wrong name
        (_body(zhang, id_number=bad_checksum), 422),  # bad check character
        (_body(zhang, id_number=zhang.certno.lower() + " "), 409),  # A's identity
        (_body(zhang, id_number=zhang.certno + "1"), 422),  # too long
        (_body(baby), 422),  # under 14
        ({"name": "王五", "id_number": unknown, "consent": CONSENT}, 422),  # unknown person
        (_body(liu, consent={"accepted": False, "text_version": "pi-2026-01"}), 422),
        ({**_body(liu), "extra": liu.certno}, 422),  # unknown field
    ]
    for body, status in failures:
        resp = client.post("/me/identity", headers=bearer(tb), json=body)
        assert resp.status_code == status, (body["name"], resp.get_json())
    assert client.post("/me/identity", headers=bearer(tb), json=_body(liu)).status_code == 200
    for body, status in [
        (_body(li, name="李四", relation="spouse"), 422),
        (_body(baby, relation="child"), 422),  # no guardian consent
        (_body(li, id_number=bad_checksum, relation="spouse"), 422),
    ]:
        resp = client.post("/me/relatives", headers=bearer(tb), json=body)
        assert resp.status_code == status, resp.get_json()

    # The bureau adapter crashes with the ID number in its exception message.
    from app.integrations import registry

    class ExplodingBureau:
        def lookup_person(self, certno, name):
            raise RuntimeError(f"bureau exploded for {certno} / {name}")

    with monkeypatch.context() as patch:
        patch.setattr(registry, "bureau", ExplodingBureau)
        resp = client.post("/me/relatives", headers=bearer(tb), json=_body(li, relation="spouse"))
        assert resp.status_code == 500

    # Staff: a reviewer opens both members, the operator reads the audit trail.
    reviewer = staff_login(client, "demo-reviewer", DEMO_STAFF_PASSWORD)["access_token"]
    operator = staff_login(client, "demo-operator", DEMO_STAFF_PASSWORD)["access_token"]
    # Each read writes an audit row with the request id, which a client chose to be an ID number.
    for member_id, request_id in ((a["member_id"], zhang.certno), (b["member_id"], liu.certno)):
        headers = {**bearer(reviewer), "X-Request-ID": request_id}
        assert client.get(f"/staff/members/{member_id}", headers=headers).status_code == 200
    audit = client.get(
        "/staff/audit-events", headers=bearer(operator), query_string={"page_size": 100}
    )
    assert audit.status_code == 200

    # An employer lists the same people on a roster (with the unknown and the mistyped number),
    # enrolls them in a batch job and reads the roster, the job's rows and the per-row report.
    import uuid

    from tests.security.support import ORG_ADMIN_PASSWORD, create_org_admin, create_organisation

    org = create_organisation(app, "employer", "赣州金丝雀有限公司")
    create_org_admin(app, "canary-employer", role="employer_admin", organisation_id=org)
    employer = staff_login(client, "canary-employer", ORG_ADMIN_PASSWORD)["access_token"]
    programme = client.post(
        "/staff/programmes",
        headers=bearer(employer),
        json={
            "name": "金丝雀员工保障",
            "plan_year": 2026,
            "starts_on": "2026-01-01",
            "ends_on": "2026-12-31",
            "rule": {"kind": "full"},
            "eligibility": {"roster_only": True},
        },
    )
    assert programme.status_code == 201, programme.get_json()
    programme_id = programme.get_json()["id"]
    client.post(
        f"/staff/programmes/{programme_id}/top-ups",
        headers={**bearer(employer), "Idempotency-Key": uuid.uuid4().hex},
        json={"amount_fen": 10 * 8900},
    )
    roster = "姓名,身份证号,类别\n" + "".join(
        f"{name},{certno},\n"
        for name, certno in (
            (zhang.name, zhang.certno),
            (li.name, li.certno),
            (liu.name, liu.certno),
            ("王五", unknown),
            ("张三", bad_checksum),
        )
    )
    uploaded = client.post(
        f"/staff/programmes/{programme_id}/roster/uploads",
        headers=bearer(employer),
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(roster.encode()), "roster.csv")},
    )
    assert uploaded.status_code == 201 and uploaded.get_json()["added"] == 4, uploaded.get_json()
    [terms] = [
        p["terms_version"] for p in client.get("/products").get_json() if p["plan_year"] == 2026
    ]
    job = client.post(
        f"/staff/programmes/{programme_id}/enrollment-jobs",
        headers={**bearer(employer), "Idempotency-Key": uuid.uuid4().hex},
        json={"terms": {"version": terms, "accepted": True}},
    )
    # Whatever the date (the product's window decides who is enrolled), every row is answered.
    assert job.status_code == 202 and job.get_json()["processed"] == 4, job.get_json()
    rows = client.get(
        f"/staff/programmes/{programme_id}/enrollment-jobs/{job.get_json()['id']}/rows",
        headers=bearer(employer),
    )
    assert mask(li.certno) in rows.get_data(as_text=True)
    report = client.get(uploaded.get_json()["report_url"], headers=bearer(employer))
    assert report.status_code == 200 and mask(zhang.certno) in report.get_data(as_text=True)

    # Every GET route, for the member and the staff token, with the flow's own ids.
    ids = {
        "relative_id": spouse.get_json()["id"],
        "member_id": a["member_id"],
        "programme_id": programme_id,
        "upload_id": uploaded.get_json()["id"],
        "job_id": job.get_json()["id"],
    }
    for rule, method in api_routes(app):
        if method != "GET":
            continue
        path = rule
        while "<" in path:
            start, end = path.index("<"), path.index(">")
            name = path[start + 1 : end].split(":")[-1]
            path = path[:start] + str(ids.get(name, 1)) + path[end + 1 :]
        for token in (ta, tb, reviewer, operator, employer):
            client.get(path, headers=bearer(token))
    # Every page (app/web) GET route, in a console session of the reviewer and the operator.
    for username in ("demo-reviewer", "demo-operator"):
        console = app.test_client()
        signed_in(console, username)
        for rule, method in page_routes(app):
            if method == "GET":
                console.get(re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids.get(m[1], 1)), rule))
    client.get("/openapi.json")
    client.post("/auth/refresh", json={"refresh_token": a["refresh_token"]})

    # The flow really rendered these people (masked), so finding nothing below means something.
    me_a = client.get("/me", headers=bearer(ta)).get_data(as_text=True)
    assert mask(zhang.certno) in me_a
    relatives_a = client.get("/me/relatives", headers=bearer(ta)).get_data(as_text=True)
    assert mask(li.certno) in relatives_a and mask(baby.certno) in relatives_a
    assert any(r.name.startswith("sqlalchemy.engine") for r in caplog.records), "SQL not logged"
    assert any(r.getMessage() == "unhandled error" and r.exc_text for r in caplog.records)

    needles = set(used_ids)
    needles |= {certno[:17] for certno in used_ids}  # the number without its check character
    needles |= {certno.encode().hex() for certno in used_ids}
    needles = {n.upper() for n in needles}

    def find(text: str) -> set[str]:
        """The ID numbers in `text`, as they are, hex-encoded, or inside a base64 run."""
        upper = (text + "\n" + _base64_decodings(text)).upper()
        return {n for n in needles if n in upper}

    # Responses: status, every header, every body.
    for path, resp in RecordingClient.responses:
        leaked = find(response_text(resp))
        assert not leaked, f"response to {path} ({resp.status_code}) contains {leaked}"

    # Logs: the formatted text and every attribute of every record (extras, args, exc_text).
    assert not find(caplog.text), "ID number in the formatted log output"
    assert "[request_id=" in dev_log.getvalue()
    assert not find(dev_log.getvalue()), "ID number in the development log format"
    for record in caplog.records:
        parts = [
            record.getMessage(),
            repr(record.args),
            record.exc_text or "",
            repr({k: v for k, v in vars(record).items() if k not in ("msg", "args")}),
        ]
        leaked = find("\n".join(parts))
        assert not leaked, f"log record {record.name}:{record.lineno} contains {leaked}"
    out, err = capfd.readouterr()
    assert not find(out + err), "ID number on stdout/stderr"

    # Database: every column of every table, as stored; base64 values decoded as well; and
    # the blind index is not an unkeyed digest of the number.
    digests = set()
    for certno in used_ids:
        for algorithm in ("md5", "sha1", "sha256"):
            digests.add(hashlib.new(algorithm, certno.encode()).hexdigest().upper())
    engine = app.extensions["db_engine"]
    metadata = MetaData()
    metadata.reflect(bind=engine)
    scanned = 0
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)).mappings():
                for column, value in row.items():
                    if value is None:
                        continue
                    text = _as_text(value)
                    scanned += 1
                    where = f"{table.name}.{column}"
                    assert not find(text), f"{where} holds an ID number in plaintext or base64"
                    assert text.upper() not in digests, f"{where} is an unkeyed digest"
    assert "persons" in metadata.tables and scanned > 100
