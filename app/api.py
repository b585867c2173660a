"""flask-smorest `Api` and `Blueprint` adapted to Huimin.

- Every error, ours or werkzeug's or an unexpected exception, leaves as problem details with a
  stable code, a Chinese detail, and werkzeug's own headers kept (`Allow` on 405,
  `WWW-Authenticate` on 401, `Retry-After` on 429), which flask-smorest's default handler drops.
- Error responses are documented with the problem schema and content type, so the spec and the
  wire agree (schemathesis checks that).
- The spec carries the error-code catalogue (app/error_catalogue.py) as the root extension
  `x-error-codes`: [{code, status, message}], so a client can map `code` without reading our docs.
"""

from __future__ import annotations

import functools
import logging
from functools import wraps
from http import HTTPStatus
from json import JSONDecodeError

import marshmallow as ma
from flask import Response, current_app, json
from flask_smorest import Api as _Api
from flask_smorest import Blueprint as _Blueprint
from flask_smorest.spec import prepare_response
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, Map

from app.auth.principal import authenticate_member, authenticate_staff
from app.error_catalogue import CATALOGUE, E
from app.errors import (
    HTTP_ERROR_MESSAGES,
    PROBLEM_CONTENT_TYPE,
    DomainError,
    problem_body,
    translate_field_messages,
)

log = logging.getLogger(__name__)


MAX_DB_ID = 2**31 - 1


class DatabaseIdConverter(IntegerConverter):
    """`<int:...>` bounded to the range of an INTEGER primary key (documented as 1..2**31-1).
    An id outside it is a plain 404 raised here: werkzeug's own range check would let the router
    fall through to a sibling rule and answer 405 for a DELETE of /x/0."""

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int = 1,
        max: int = MAX_DB_ID,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
        self.bounds = (min, max)  # always both (werkzeug's own min and max may be None)

    def to_python(self, value: str) -> int:
        number = int(value)
        lowest, highest = self.bounds
        if not (lowest <= number <= highest):
            from werkzeug.exceptions import NotFound

            raise NotFound()
        return number


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, with Huimin's stable machine code."""

    type = ma.fields.String(metadata={"description": "URI naming the problem type"})
    title = ma.fields.String(metadata={"description": "HTTP status phrase"})
    status = ma.fields.Integer()
    detail = ma.fields.String(metadata={"description": "面向用户的中文说明"})
    code = ma.fields.String(
        metadata={"description": "Stable machine code, e.g. identity_not_matched (x-error-codes)"}
    )
    errors = ma.fields.Dict(metadata={"description": "Per-location, per-field messages (422)"})


def problem_response(status: int, code: str, detail: str, errors=None, headers=None) -> Response:
    body = problem_body(status, code, detail, errors)
    response = Response(
        json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_CONTENT_TYPE
    )
    for name, value in (headers or {}).items():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


class Api(_Api):
    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        self._app.register_error_handler(HTTPException, self.handle_http_exception)
        self._app.register_error_handler(DomainError, self.handle_domain_error)
        self._app.register_error_handler(Exception, self.handle_unexpected)

    def _register_responses(self) -> None:
        """Document every error response as problem details."""
        for status in HTTPStatus:
            response: dict = {"description": status.phrase}
            content_type = self.DEFAULT_RESPONSE_CONTENT_TYPE
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
                if status >= 400:
                    content_type = PROBLEM_CONTENT_TYPE
            prepare_response(response, self.spec, content_type)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_CONTENT_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)
        self._document_error_codes()

    def _document_error_codes(self):
        """Every stable code, once: apispec merges `options` into the root of the spec."""
        self.spec.options["x-error-codes"] = [
            {"code": s.code, "status": s.status, "message": s.message}
            | ({"also": list(s.also)} if s.also else {})
            for s in CATALOGUE.values()
        ]

    def handle_http_exception(self, error: HTTPException):
        status = error.code or 500
        if status == 429 and error.response is not None:
            return error.response  # a limit's own answer (on_breach), e.g. staff_login_locked
        code, detail = HTTP_ERROR_MESSAGES.get(status, ("http_error", "请求无法处理"))
        headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        data = getattr(error, "data", None) or {}
        errors = None
        if "messages" in data:  # webargs validation errors
            errors = translate_field_messages(data["messages"])
        elif "errors" in data:
            errors = data["errors"]
        if "message" in data and isinstance(data["message"], str):
            detail = data["message"]
        headers.update(data.get("headers") or {})
        if status == 401:
            headers.setdefault("WWW-Authenticate", 'Bearer realm="huimin"')
        if status == 429:
            detail = HTTP_ERROR_MESSAGES[429][1]
        return problem_response(status, code, detail, errors, headers)

    def handle_domain_error(self, error: DomainError):
        return problem_response(error.status, error.code, error.detail, error.errors, error.headers)

    def handle_unexpected(self, error: Exception):
        if isinstance(error, HTTPException):  # pragma: no cover - routed above
            return self.handle_http_exception(error)
        from app.database import is_outage

        if is_outage(error):
            # Logged without the driver's message, which can quote the statement's parameters.
            cause = getattr(error, "orig", None) or error
            log.error("database unavailable", extra={"error_type": type(cause).__name__})
            return self.handle_domain_error(E.database_unavailable(headers={"Retry-After": "1"}))
        log.exception("unhandled error", extra={"error_type": type(error).__name__})
        if current_app.config["TESTING"] and current_app.config["RAISE_UNEXPECTED"]:
            raise error
        code, detail = HTTP_ERROR_MESSAGES[500]
        return problem_response(500, code, detail)


def _schema_class(schema) -> type[ma.Schema]:
    return schema if isinstance(schema, type) else type(schema)


@functools.cache
def _multipart_class(form: type[ma.Schema], files: type[ma.Schema]) -> type[ma.Schema]:
    name = form.__name__.removesuffix("Schema") + "MultipartSchema"
    return type(name, (form, files), {"__doc__": "The form fields and the file, one body."})


def _multipart_schema(form, files) -> type[ma.Schema]:
    """One schema for a multipart body whose fields and file two `arguments` parse: both sets
    of fields (allOf would not do: a strict part's additionalProperties=false refuses the
    other's), made once per pair so the spec has one component for it."""
    return _multipart_class(_schema_class(form), _schema_class(files))


class _Parser(FlaskParser):
    """webargs' parser, plus: JSON nested deeper than the interpreter's recursion limit (a
    kilobyte of `[`) is the same 400 as any other body that is not JSON, not a RecursionError
    out of json.loads answered 500."""

    def _raw_load_json(self, req):
        try:
            return super()._raw_load_json(req)
        except RecursionError:
            error = JSONDecodeError("nested too deeply", "", 0)
            return self._handle_invalid_json_error(error, req)


class Blueprint(_Blueprint):
    """Blueprint whose routes document the errors they can return."""

    ARGUMENTS_PARSER = _Parser()

    def arguments(self, schema, *, location="json", **kwargs):
        """As flask-smorest's, plus: a JSON body that is not JSON at all is a documented 400."""
        decorator = super().arguments(schema, location=location, **kwargs)
        if location != "json":
            return decorator

        def with_400(func):
            return self.errors(400)(decorator(func))

        return with_400

    def _prepare_arguments_doc(self, doc, doc_info, *, api, spec, **kwargs):
        """As flask-smorest's, plus: form fields of a multipart request (a file and its fields,
        parsed by two `arguments`) are documented inside the multipart body's schema. flask-smorest
        would list them as `in: formData` parameters, which OpenAPI 3 does not have, so clients
        and schemathesis never saw them."""
        doc = super()._prepare_arguments_doc(doc, doc_info, api=api, spec=spec, **kwargs)
        parameters = doc.get("parameters", [])
        form = [p for p in parameters if isinstance(p, dict) and p.get("in") == "form"]
        multipart = doc.get("requestBody", {}).get("content", {}).get("multipart/form-data")
        if len(form) != 1 or multipart is None:
            return doc
        multipart["schema"] = _multipart_schema(form[0]["schema"], multipart["schema"])
        doc["parameters"] = [p for p in parameters if p is not form[0]]
        if not doc["parameters"]:
            del doc["parameters"]
        return doc

    def errors(self, *statuses: int):
        """Declare the 4xx/5xx a route can return, so the spec matches reality."""

        def decorator(func):
            for status in statuses:
                func = self.alt_response(status, response=HTTPStatus(status).name)(func)
            return func

        return decorator

    def member_required(self, func):
        """The caller must present a member access token."""

        @wraps(func)
        def wrapper(*args, **kwargs):
            authenticate_member()
            return func(*args, **kwargs)

        wrapper = self.doc(security=[{"memberAuth": []}])(wrapper)
        return self.errors(401)(wrapper)

    def staff_required(self, *roles: str):
        """The caller must present a staff access token with one of `roles` (any if empty)."""

        def decorator(func):
            @wraps(func)
            def wrapper(*args, **kwargs):
                authenticate_staff(roles)
                return func(*args, **kwargs)

            wrapper = self.doc(security=[{"staffAuth": []}])(wrapper)
            return self.errors(401, 403)(wrapper)

        return decorator

    def sized_body(self, config_key: str, overhead: int = 64 * 1024):
        """This route alone reads a body up to app.config[config_key] (+ multipart overhead)
        instead of MAX_CONTENT_LENGTH. Place it under the auth decorator (the limit is raised
        only for an authenticated caller) and above the arguments that parse the body."""
        from flask import current_app, request

        def decorator(func):
            @wraps(func)
            def wrapper(*args, **kwargs):
                request.max_content_length = current_app.config[config_key] + overhead
                return func(*args, **kwargs)

            return self.errors(413)(wrapper)

        return decorator

    def idempotent(self, func=None, *, mode: str = "own"):
        """Money-moving POST: requires an Idempotency-Key header (see app/common/idempotency.py).
        Place it under member_required/staff_required so the key is scoped to the caller.
        `@blp.idempotent(mode=...)` says how its record is written (idempotency.OWN, UNIT,
        FIRST_COMMIT)."""
        from app.auth.principal import current_principal
        from app.common.idempotency import HEADER, idempotent

        if func is None:
            return lambda f: self.idempotent(f, mode=mode)
        wrapper = idempotent(
            lambda: f"{current_principal().kind}:{current_principal().id}", mode=mode
        )(func)
        wrapper = self.doc(
            parameters=[
                {
                    "in": "header",
                    "name": HEADER,
                    "required": True,
                    "schema": {
                        "type": "string",
                        "minLength": 8,
                        "maxLength": 64,
                        "pattern": "^[A-Za-z0-9_.:\\-]{8,64}$",
                    },
                    "description": "同一操作重试时使用相同的值；不同操作使用不同的值",
                }
            ]
        )(wrapper)
        return self.errors(400, 409, 422)(wrapper)
