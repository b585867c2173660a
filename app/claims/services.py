"""Claim use cases, one import away: the names the routes, the CLI, the app's provider
registrations and other packages use. Each use case owns its transaction(s) and lives in the
module of its concern:

    intake            drafts, their fields and payee, submit
    documents         a claim's documents (upload, reads, deletion)
    settlement        the bureau's settlement records and the one-tap claim from one
    estimate          what a claim would pay now (理赔试算)
    adjudication_run  the engine against the accumulators, routing, `process`, re-runs
    review            the member's answers and human review; the reviewers' transitions
    figure            what approval would pay now (the claim page), stale figures (the queue)
    queue             the review queue and the audited staff read
    payouts           transfers, their reconciliation, the claim ledger check
    payee             correcting the payee after a refused transfer (payout recovery)
    supplements       paid once: claims of the same care episode (rules in episodes.py)
    providers         what other packages read (refund check, FHIR export, sponsor reports)
    common            what they share (access, state transitions, notifications, disclosure)

Money-affecting steps are split so that no outside call happens inside a database transaction:
submit (commit) -> adjudicate (commit; settles the accumulators when approved) -> payout
(a pending Payout row is committed before the transfer is asked for, so a crash leaves a
recoverable pending state that `reconcile_payouts` finishes).

Patch a name where it is looked up (e.g. `app.claims.settlement.process`), not here.
"""

from app.claims.adjudication_run import (
    adjudicate,
    adjudicate_pending,
    adjudication_json,
    process,
    rerun_for_product,
)
from app.claims.common import new_claim_no
from app.claims.documents import (
    delete_document,
    member_document,
    staff_document,
    upload_document,
)
from app.claims.estimate import estimate
from app.claims.figure import current_figure, stale_claims
from app.claims.intake import (
    create_claim,
    delete_draft,
    get_claim,
    list_claims,
    missing_documents,
    required_documents,
    submit,
    update_claim,
)
from app.claims.payee import member_correct_payee, staff_correct_payee
from app.claims.payouts import check_claim_ledger, pay, reconcile_payouts, record_payout
from app.claims.providers import claims_filed_on, claims_paid_on, fhir_claims
from app.claims.queue import queue, staff_get
from app.claims.recheck import recheck_available, request_recheck
from app.claims.review import (
    answer,
    approve,
    assign,
    redetermine,
    reject,
    request_human_review,
    request_info,
)
from app.claims.settlement import RecordView, claim_from_settlement, settlement_records

__all__ = [
    "RecordView",
    "adjudicate",
    "adjudicate_pending",
    "adjudication_json",
    "answer",
    "approve",
    "assign",
    "check_claim_ledger",
    "claim_from_settlement",
    "claims_filed_on",
    "claims_paid_on",
    "create_claim",
    "current_figure",
    "delete_document",
    "delete_draft",
    "estimate",
    "fhir_claims",
    "get_claim",
    "list_claims",
    "member_correct_payee",
    "member_document",
    "missing_documents",
    "new_claim_no",
    "pay",
    "process",
    "queue",
    "reconcile_payouts",
    "record_payout",
    "redetermine",
    "recheck_available",
    "reject",
    "request_human_review",
    "request_recheck",
    "request_info",
    "required_documents",
    "rerun_for_product",
    "settlement_records",
    "staff_correct_payee",
    "staff_document",
    "stale_claims",
    "staff_get",
    "submit",
    "update_claim",
    "upload_document",
]
