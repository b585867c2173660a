"""Contactless claims: intake (documents or the bureau's settlement records), adjudication by
app.adjudication against the person's accumulators, the reviewer workflow, fraud checks, payout."""
