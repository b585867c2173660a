"""The special-drug service (特药服务): a member applies for a drug on the product's 特药目录 for
an insured person with a prescription and diagnostic proof; a reviewer approves the indication
for a stated period at the catalogue's designated pharmacies; purchases are then claimed against
the approval (as claims of care kind special_drug) and count against the drug's annual cap.

`rules` is the pure part (validity window, indications, proofs, the cap split of a purchase),
`models` the tables, `services` the applications and their review, `purchases` the purchase
claims and the per-drug cap accumulator, `routes` the HTTP way in. See docs/special_drugs.md.
"""
