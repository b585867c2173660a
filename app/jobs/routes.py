"""Batch enrollment jobs of an organisation's programme: start one, follow its progress (counts,
percentage, time left), read its per-row outcomes, cancel it. Another organisation's programme
or job is a plain 404."""

from __future__ import annotations

from app.api import Blueprint
from app.auth.models import ORGANISATION_ROLES
from app.auth.principal import current_principal
from app.jobs import services
from app.jobs.schemas import JobCreateSchema, JobRowPageSchema, JobRowQuerySchema, JobSchema

blp = Blueprint("jobs", __name__, url_prefix="/staff", description="批量投保任务 Jobs")


def _view(job) -> dict:
    return {
        **{
            c: getattr(job, c)
            for c in (
                "id",
                "kind",
                "programme_id",
                "product_id",
                "plan_year",
                "status",
                "total",
                "done",
                "failed",
                "error_code",
                "runs",
                "created_at",
                "started_at",
                "heartbeat_at",
                "finished_at",
            )
        },
        **services.progress(job),
    }


@blp.route("/programmes/<int:programme_id>/enrollment-jobs", methods=["POST"])
@blp.staff_required(*ORGANISATION_ROLES)
@blp.idempotent
@blp.arguments(JobCreateSchema)
@blp.response(202, JobSchema)
@blp.errors(404, 409, 422)
def start_job(body, programme_id):
    """Enroll everyone on the roster not yet insured this plan year, paid by the programme.
    Runs on the worker (or at once when no broker is configured). Requires an Idempotency-Key."""
    job = services.start_roster_enrollment(
        current_principal(),
        programme_id,
        terms_version=body["terms"]["version"],
        terms_accepted=body["terms"]["accepted"],
    )
    return _view(job)


@blp.route("/programmes/<int:programme_id>/enrollment-jobs", methods=["GET"])
@blp.staff_required(*ORGANISATION_ROLES)
@blp.response(200, JobSchema(many=True))
@blp.errors(404)
def list_jobs(programme_id):
    """The programme's latest 20 jobs, newest first."""
    return [_view(job) for job in services.list_jobs(current_principal(), programme_id)]


@blp.route("/programmes/<int:programme_id>/enrollment-jobs/<int:job_id>", methods=["GET"])
@blp.staff_required(*ORGANISATION_ROLES)
@blp.response(200, JobSchema)
@blp.errors(404)
def read_job(programme_id, job_id):
    """Progress: done and failed counts, percentage, estimated seconds left."""
    return _view(services.get_job(current_principal(), programme_id, job_id))


@blp.route("/programmes/<int:programme_id>/enrollment-jobs/<int:job_id>/rows", methods=["GET"])
@blp.staff_required(*ORGANISATION_ROLES)
@blp.arguments(JobRowQuerySchema, location="query")
@blp.response(200, JobRowPageSchema)
@blp.errors(404)
def job_rows(query, programme_id, job_id):
    """Per-row outcomes (masked), in roster order, optionally only one status."""
    return services.list_rows(
        current_principal(),
        programme_id,
        job_id,
        status=query.get("status"),
        page=query["page"],
        page_size=query["page_size"],
    ).as_dict()


@blp.route("/programmes/<int:programme_id>/enrollment-jobs/<int:job_id>/cancel", methods=["POST"])
@blp.staff_required(*ORGANISATION_ROLES)
@blp.response(200, JobSchema)
@blp.errors(404, 409)
def cancel_job(programme_id, job_id):
    """Stop the job after the batch in progress; enrolled rows stay enrolled."""
    return _view(services.cancel_job(current_principal(), programme_id, job_id))
