"""The floor: the least a request can cost on this stack (benchmarks only).

A minimal Flask app with SQLAlchemy Core, served by gunicorn with the project's own
gunicorn.conf.py (`gunicorn -c gunicorn.conf.py bench.floor_app:app`), on its own PostgreSQL
database (FLOOR_DATABASE_URL):

- `POST /write`: one UPDATE and one INSERT in one transaction (the write floor), a small JSON
  answer. The UPDATE hits one of 1,024 rows at random, so the floor has no hot row of its own.
- `GET /read`: one SELECT of FLOOR_READ_ROWS rows and a JSON body of FLOOR_READ_BYTES bytes
  built from them with json.dumps (the read floor for a body the size of /public/statistics').

`setup(url)` creates the tables (called by bench/run before gunicorn starts).
"""

from __future__ import annotations

import json
import os
import random

from flask import Flask, Response, request
from sqlalchemy import create_engine, text

SLOTS = 1024


def setup(url: str, read_rows: int) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS floor_counters, floor_events, floor_cells"))
        conn.execute(text("CREATE TABLE floor_counters (id int PRIMARY KEY, value bigint)"))
        conn.execute(
            text(
                "CREATE TABLE floor_events (id bigserial PRIMARY KEY, slot int, "
                "amount bigint, created_at timestamptz DEFAULT now())"
            )
        )
        conn.execute(
            text(
                "CREATE TABLE floor_cells (id serial PRIMARY KEY, month text, metric text, "
                "dimension text, value bigint)"
            )
        )
        conn.execute(
            text("INSERT INTO floor_counters SELECT g, 0 FROM generate_series(1, :n) g"),
            {"n": SLOTS},
        )
        conn.execute(
            text(
                "INSERT INTO floor_cells (month, metric, dimension, value) "
                "SELECT '2026-' || lpad((g % 12 + 1)::text, 2, '0'), 'metric_' || (g % 13), "
                "'dimension_' || (g % 7), g * 1000 FROM generate_series(1, :n) g"
            ),
            {"n": read_rows},
        )
    engine.dispose()


def create_app() -> Flask:
    app = Flask(__name__)
    engine = create_engine(os.environ["FLOOR_DATABASE_URL"], pool_size=10, max_overflow=20)
    read_bytes = int(os.environ.get("FLOOR_READ_BYTES", "20000"))
    update = text("UPDATE floor_counters SET value = value + :amount WHERE id = :slot")
    insert = text("INSERT INTO floor_events (slot, amount) VALUES (:slot, :amount) RETURNING id")
    select = text("SELECT month, metric, dimension, value FROM floor_cells ORDER BY id")

    @app.post("/write")
    def write():
        payload = request.get_json(silent=True) or {}
        amount = int(payload.get("amount", 1))
        slot = random.randint(1, SLOTS)
        with engine.begin() as conn:
            conn.execute(update, {"slot": slot, "amount": amount})
            event_id = conn.execute(insert, {"slot": slot, "amount": amount}).scalar_one()
        return {"id": event_id, "slot": slot}

    @app.get("/read")
    def read():
        with engine.connect() as conn:
            rows = [
                {"month": m, "metric": k, "dimension": d, "value": v}
                for m, k, d, v in conn.execute(select)
            ]
        body = json.dumps({"cells": rows}, separators=(",", ":"))
        pad = max(0, read_bytes - len(body) - 10)
        data = json.dumps({"pad": "x" * pad, "cells": rows}, separators=(",", ":")).encode()
        return Response(data, mimetype="application/json")

    return app


app = create_app() if "FLOOR_DATABASE_URL" in os.environ else None
