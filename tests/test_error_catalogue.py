"""The error-code catalogue is complete, consistent with the classes that carry codes, and the
committed docs/errors.md is what `flask errors doc` prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.error_catalogue import CATALOGUE, E, ErrorSpec, raise_error
from app.error_docs import markdown_table
from app.errors import HTTP_ERROR_MESSAGES, Conflict, DomainError, NotFound, Unauthorized
from tests.error_code_scan import scan

DOC = Path(__file__).resolve().parent.parent / "docs" / "errors.md"


def test_every_code_raised_in_app_is_in_the_catalogue():
    sites = scan()
    assert len({s.code for s in sites}) > 150  # the scanner still finds the codes
    missing = sorted({f"{s.code} ({s.path}:{s.line})" for s in sites if s.code not in CATALOGUE})
    assert not missing, "add these codes to app/error_catalogue.py: " + ", ".join(missing)


def test_the_scanner_sees_inline_codes_and_catalogue_raisers():
    kinds = {s.kind for s in scan()}
    assert {"class", "carrier", "http", "catalogue"} <= kinds
    # app/ raises every code from the catalogue now; a synthetic module shows the scanner would
    # still see a code raised inline.
    inline = """
from app.errors import Conflict


def f():
    raise Conflict("冲突", code="a_code_raised_inline")
"""
    sites = [s for s in scan({"zz_synthetic.py": inline}) if s.kind == "inline"]
    assert [s.code for s in sites] == ["a_code_raised_inline"]


def test_no_code_is_raised_inline():
    inline = sorted(f"{s.code} ({s.path}:{s.line})" for s in scan() if s.kind == "inline")
    assert not inline, "raise these from app/error_catalogue.py: " + ", ".join(inline)


def test_classes_that_carry_a_code_agree_with_the_catalogue():
    from app.documents import errors as document_errors
    from app.errors import BadRequest, Forbidden, RateLimited, UpstreamUnavailable, ValidationFailed

    classes = [BadRequest, ValidationFailed, Unauthorized, Forbidden, NotFound, Conflict]
    classes += [RateLimited, UpstreamUnavailable]
    classes += [
        c
        for c in vars(document_errors).values()
        if isinstance(c, type)
        and issubclass(c, DomainError)
        and c.__module__ == document_errors.__name__
    ]
    for cls in classes:
        spec = CATALOGUE[cls.code]
        assert (cls.status, cls.detail) == (spec.status, spec.message), cls.__name__


def test_werkzeug_error_messages_agree_with_the_catalogue():
    for status, (code, message) in HTTP_ERROR_MESSAGES.items():
        assert (CATALOGUE[code].status, CATALOGUE[code].message) == (status, message)


def test_committed_doc_is_current():
    assert DOC.read_text(encoding="utf-8") == markdown_table(), (
        "docs/errors.md is stale: run `flask errors doc > docs/errors.md`"
    )


def test_doc_has_one_row_per_code():
    rows = [line for line in markdown_table().splitlines() if line.startswith("| `")]
    assert len(rows) == len(CATALOGUE)
    assert "| `policy_not_found` | 404 | 保单不存在 |" in rows
    assert "| `product_not_found` | 404 / 409 / 422 | 产品不存在 |" in rows


def test_spec_lists_the_catalogue(client):
    spec = client.get("/openapi.json").get_json()
    listed = {entry["code"]: entry for entry in spec["x-error-codes"]}
    assert set(listed) == set(CATALOGUE)
    assert listed["policy_not_found"] == {
        "code": "policy_not_found",
        "status": 404,
        "message": "保单不存在",
    }


@pytest.mark.parametrize(
    ("raise_it", "cls", "status", "code", "detail"),
    [
        # the catalogue's message, and the subclass of its status
        (lambda: E.policy_not_found(), NotFound, 404, "policy_not_found", "保单不存在"),
        (lambda: E.job_finished(), Conflict, 409, "job_finished", "任务已结束，不能取消"),
        # a detail that carries data replaces the message; the code stays
        (
            lambda: E.too_many_documents("每笔理赔最多上传 20 份材料"),
            DomainError,
            422,
            "too_many_documents",
            "每笔理赔最多上传 20 份材料",
        ),
        # a documented legacy status
        (
            lambda: E.product_not_found(status=409),
            Conflict,
            409,
            "product_not_found",
            "产品不存在",
        ),
        # a status without a subclass of its own
        (
            lambda: E.campaign_expired(),
            DomainError,
            410,
            "campaign_expired",
            "该邀请已过期，二维码已失效",
        ),
    ],
)
def test_raising_from_the_catalogue(raise_it, cls, status, code, detail):
    error = raise_it()
    assert isinstance(error, cls)
    assert (error.status, error.code, error.detail) == (status, code, detail)


def test_unauthorized_keeps_its_challenge_header():
    error = E.token_stale_role()
    assert isinstance(error, Unauthorized)
    assert error.headers["WWW-Authenticate"].startswith("Bearer")


def test_raise_error_and_typos():
    with pytest.raises(NotFound) as info:
        raise_error("job_not_found")
    assert info.value.detail == "批量投保任务不存在"
    with pytest.raises(AttributeError, match="no error code"):
        E.no_such_code_anywhere()
    with pytest.raises(ValueError, match="not documented with status"):
        E.policy_not_found(status=409)


def test_errors_carry_errors_and_headers():
    error = E.name_invalid(errors={"json": {"name": ["姓名格式不正确"]}}, headers={"X-A": "1"})
    assert error.errors == {"json": {"name": ["姓名格式不正确"]}}
    assert error.headers == {"X-A": "1"}


def test_every_spec_is_well_formed():
    for code, spec in CATALOGUE.items():
        assert isinstance(spec, ErrorSpec) and spec.code == code
        assert code.islower() and " " not in code
        assert 400 <= spec.status <= 599
        assert any("\u4e00" <= ch <= "\u9fff" for ch in spec.message), code
