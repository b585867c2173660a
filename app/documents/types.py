"""The kinds of claim document a member can upload, with the Chinese label the mini-program shows.

Which kinds each kind of claim requires is the product's business (its definition), not this list.
"""

from __future__ import annotations

DOCUMENT_TYPE_LABELS: dict[str, str] = {
    "invoice": "医疗费用发票",
    "settlement_sheet": "医保结算单",
    "discharge_summary": "出院小结",
    "itemised_bill": "费用明细清单",
    "prescription": "处方",
    "pathology": "病理报告",
}

DOCUMENT_TYPES: tuple[str, ...] = tuple(DOCUMENT_TYPE_LABELS)
