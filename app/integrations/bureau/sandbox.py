"""Sandbox bureau: answers 1101 from the `sandbox_residents` table seeded by `flask demo seed`.
Deterministic, embedded, and refused by the production profile."""
from __future__ import annotations

from sqlalchemy import select

from app.database import get_session
from app.integrations.bureau.port import BureauPerson, InsuranceRecord
from app.integrations.bureau.sandbox_models import SandboxResident
from app.security.crypto import cipher, index_of

CERTNO_CONTEXT = "sandbox_residents.certno"


class SandboxBureau:
    def lookup_person(self, certno: str, name: str) -> BureauPerson | None:
        session = get_session()
        row = session.scalar(
            select(SandboxResident).where(
                SandboxResident.certno_index == index_of("sandbox_certno", certno)
            )
        )
        if row is None or row.psn_name != name:
            return None
        return to_bureau_person(row, certno)


def to_bureau_person(row: SandboxResident, certno: str) -> BureauPerson:
    return BureauPerson(
        psn_no=row.psn_no,
        certno=certno,
        name=row.psn_name,
        gender=row.gend,
        birth_date=row.brdy,
        insurance=[
            InsuranceRecord(
                insutype=row.insutype,
                status=row.psn_insu_stas,
                region_code=row.insuplc_admdvs,
                paused_on=row.paus_insu_date,
                balance_fen=row.balc_fen,
            )
        ],
        identity_types=list(row.idet_types or []),
    )


def encrypt_certno(certno: str) -> tuple[str, str]:
    return cipher().encrypt(certno, CERTNO_CONTEXT), index_of("sandbox_certno", certno)
