"""The real medical-insurance bureau adapter: signed JSON envelopes over HTTPS.

The city bureau speaks the national medical-insurance platform's dialect: every call is a JSON
envelope and every answer a signed reply. `HttpBureau` puts together, one module per concern:

* http_transport.py: `BureauTransport.call()`, the generic signed exchange (URL, envelope,
  reply verification, timeouts, what becomes `BureauUnavailable`), on http_envelope.py
  (canonical JSON, `Signer`, `HmacSha256Signer`, redaction, `BureauRejected`) and
  http_fields.py (reply field readers, exact yuan <-> fen conversion);
* http_identity.py: ``1101`` person lookup, `BureauPort.lookup_person`;
* http_account.py: Huimin's modelled ``9601``-``9604`` personal-account debit, `AccountPort`;
* http_settlements.py: ``5203`` settlement record and Huimin's modelled ``9605`` list;
* http_fee_details.py: ``5204`` fee details (a settlement's itemised lines), netted and checked.

Each module's docstring is the wire specification of its interfaces, so both sides can be built
from them. The names below stay importable from here, where callers have always found them.
"""

from __future__ import annotations

from app.integrations.bureau.http_account import (
    INFNO_ACCOUNT_AUTHORISE,
    INFNO_ACCOUNT_BALANCE,
    INFNO_ACCOUNT_DEBIT,
    INFNO_ACCOUNT_QUERY,
    INFNO_ACCOUNT_REFUND,
    TXN_STATUSES,
    AccountDebit,
)
from app.integrations.bureau.http_envelope import (
    BureauRejected,
    HmacSha256Signer,
    Signer,
    canonical_json,
    mask_id_number,
)
from app.integrations.bureau.http_fee_details import INFNO_FEE_DETAILS, FeeDetailQueries
from app.integrations.bureau.http_fields import SHANGHAI, fen_to_yuan
from app.integrations.bureau.http_identity import (
    INFNO_PERSON_LOOKUP,
    MDTRT_CERT_TYPE_ID_CARD,
    PSN_CERT_TYPE_ID_CARD,
    PersonLookup,
)
from app.integrations.bureau.http_settlements import (
    INFNO_SETTLEMENT_DETAIL,
    INFNO_SETTLEMENT_LIST,
)

__all__ = [
    "INFNO_ACCOUNT_AUTHORISE",
    "INFNO_ACCOUNT_BALANCE",
    "INFNO_ACCOUNT_DEBIT",
    "INFNO_ACCOUNT_QUERY",
    "INFNO_ACCOUNT_REFUND",
    "INFNO_FEE_DETAILS",
    "INFNO_PERSON_LOOKUP",
    "INFNO_SETTLEMENT_DETAIL",
    "INFNO_SETTLEMENT_LIST",
    "MDTRT_CERT_TYPE_ID_CARD",
    "PSN_CERT_TYPE_ID_CARD",
    "SHANGHAI",
    "TXN_STATUSES",
    "BureauRejected",
    "HmacSha256Signer",
    "HttpBureau",
    "Signer",
    "canonical_json",
    "fen_to_yuan",
    "mask_id_number",
]


class HttpBureau(PersonLookup, AccountDebit, FeeDetailQueries):
    """`BureauPort` and `AccountPort` over HTTP. One instance per app: it owns a pooled
    `httpx.Client` (see `BureauTransport` for the constructor). The settlement queries (5203,
    9605) come with `FeeDetailQueries`, which builds on them."""
