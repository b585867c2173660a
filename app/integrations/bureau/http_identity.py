"""1101 person lookup (人员信息获取) over the real bureau's transport: `BureauPort.lookup_person`.

The request names the person by ID card both as medical and as personal certificate, with the
name. The reply's ``baseinfo`` must match the ID number *and* the name we sent; anything else is
"no such person", the same None as an unknown number, so the lookup is no name oracle. Only
identities (``idetinfo``) in force today (Asia/Shanghai) are reported.
"""

from __future__ import annotations

from typing import Any

from app.integrations.bureau.http_fields import (
    Malformed,
    code_field,
    date_field,
    list_field,
    str_field,
    yuan_to_fen,
)
from app.integrations.bureau.http_transport import BureauTransport
from app.integrations.bureau.port import BureauPerson, BureauUnavailable, InsuranceRecord

INFNO_PERSON_LOOKUP = "1101"
# 1101 certificate type codes: 02 = 居民身份证 as the medical certificate (mdtrt_cert_type),
# 01 = 居民身份证 as the personal certificate (psn_cert_type).
MDTRT_CERT_TYPE_ID_CARD = "02"
PSN_CERT_TYPE_ID_CARD = "01"


class PersonLookup(BureauTransport):
    """The 1101 part of `HttpBureau`."""

    def lookup_person(self, certno: str, name: str) -> BureauPerson | None:
        """1101 person lookup. None when the bureau has no such ID number, or has it under a
        different name: both answers must look identical to the caller (no name oracle)."""
        output = self.call(
            INFNO_PERSON_LOOKUP,
            {
                "data": {
                    "mdtrt_cert_type": MDTRT_CERT_TYPE_ID_CARD,
                    "mdtrt_cert_no": certno,
                    "psn_cert_type": PSN_CERT_TYPE_ID_CARD,
                    "certno": certno,
                    "psn_name": name,
                }
            },
        )
        try:
            return self._to_person(output, certno, name)
        except Malformed as exc:
            raise BureauUnavailable(f"bureau 1101 output malformed: {exc}") from None

    def _to_person(self, output: dict, certno: str, name: str) -> BureauPerson | None:
        base = output.get("baseinfo")
        if base is None:
            return None
        if not isinstance(base, dict):
            raise Malformed("baseinfo is not an object")

        got_certno = str_field(base, "certno")
        got_name = str_field(base, "psn_name")
        # A bureau that matches on the ID number alone returns the record even for a wrong name;
        # compare both here so a wrong name and an unknown number are the same None.
        if got_certno.strip().upper() != certno.strip().upper() or got_name.strip() != name.strip():
            return None

        today = self._now().date()
        insurance = [self._to_insurance(row) for row in list_field(output, "insuinfo")]
        identity_types: list[str] = []
        for row in list_field(output, "idetinfo"):
            if not isinstance(row, dict):
                raise Malformed("idetinfo row is not an object")
            code = code_field(row, "psn_idet_type")
            begins = date_field(row, "begntime", nullable=True)
            ends = date_field(row, "endtime", nullable=True)
            # Only identities in force today count for subsidies: an expired 低保 status (or one
            # that has not started yet) must not earn a discount.
            if (begins is None or begins <= today) and (ends is None or ends >= today):
                if code not in identity_types:
                    identity_types.append(code)

        gender = code_field(base, "gend")
        return BureauPerson(
            psn_no=code_field(base, "psn_no"),
            # Ours, not theirs: equal after normalisation, and the caller's form is canonical.
            certno=certno,
            name=got_name,
            gender=gender,
            birth_date=date_field(base, "brdy", nullable=False),
            insurance=insurance,
            identity_types=identity_types,
        )

    @staticmethod
    def _to_insurance(row: Any) -> InsuranceRecord:
        if not isinstance(row, dict):
            raise Malformed("insuinfo row is not an object")
        return InsuranceRecord(
            insutype=code_field(row, "insutype"),
            status=code_field(row, "psn_insu_stas"),
            region_code=code_field(row, "insuplc_admdvs"),
            paused_on=date_field(row, "paus_insu_date", nullable=True),
            balance_fen=yuan_to_fen(row.get("balc")),
            begin_date=date_field(row, "psn_insu_date", nullable=True),
        )
