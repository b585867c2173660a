"""Alembic environment. The database URL comes from the application's configuration (the
HUIMIN_PROFILE / DATABASE_URL environment), or from a connection handed in by app.migrate."""

from __future__ import annotations

from alembic import context

from app.models import Base

target_metadata = Base.metadata
config = context.config


def _render_item(type_, obj, autogen_context):
    """Render our UTCDateTime as a plain timezone-aware DateTime in revisions."""
    if type_ == "type" and type(obj).__name__ == "UTCDateTime":
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from app import create_app

    app = create_app()
    with app.app_context():
        engine = app.extensions["db_engine"]
        with engine.begin() as conn:
            _run(conn)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run against a database")
run_migrations_online()
