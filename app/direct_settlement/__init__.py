"""一站式 direct settlement: designated hospitals (or the bureau) ask, at the discharge counter,
what 惠民保 pays on a settled stay (trial), confirm it (the claim is recorded as paid by the
hospital), cancel it, query it and reconcile a day; the insurer then pays each hospital what it
is owed (statements). See docs/direct_settlement.md."""
