"""The sandbox bureau's rule for splitting one bill between the funds and the member.

How the sandbox bureau splits a bill (`bureau_split`; a simplification of a city's basic
insurance, kept simple so a demo figure can be checked by hand). Inputs: the total and its
out-of-policy parts (fulamt, overlmt) and the 乙类 first self-pay (preselfpay). Then:

    inscp  = medfee - fulamt - overlmt - preselfpay
    hifp   = (inscp - 起付线)+ x ratio             ratio: employee 85%, resident 70%
             起付线: employee 800 yuan, resident 600 yuan; none for chronic out-patient and
             special drugs (their own schemes)
    left   = inscp - hifp
    hifmi  = resident: (left - 10,000 yuan)+ x 60%   (resident critical-illness insurance)
    hifob  = employee: (left - 20,000 yuan)+ x 80%   (employee large-amount insurance)
    maf    = assisted people (低保 2301, 特困 2302, 低收入 2303):
             (inscp + preselfpay - hifp - hifmi - hifob) x 50%
    psn_part = medfee - hifp - hifmi - hifob - maf
    acct_pay = employees with a balance: min(psn_part / 3, 2,000 yuan, balance); the rest cash

Every product is floored to the fen (the sandbox's named rounding: ROUND_DOWN to 1 fen), so all
identities in settlements.py hold exactly. A bill for care while basic insurance is suspended is
settled with no fund payments at all (hifp = hifmi = hifob = 0); medical assistance still
follows the rule. The sandbox does not draw acct_pay from the resident's balance (`balc_fen`):
that balance belongs to the premium debit flow and stays untouched.
"""

from __future__ import annotations

from app.integrations.bureau.port import INSUTYPE_EMPLOYEE

# 低保 2301, 特困 2302, 低收入 2303: the identities medical assistance (maf) pays for.
ASSISTED_IDENTITIES = frozenset({"2301", "2302", "2303"})

_DEDUCTIBLE_FEN = {INSUTYPE_EMPLOYEE: 80_000, "390": 60_000}  # 800 / 600 yuan
_RATIO_BP = {INSUTYPE_EMPLOYEE: 8500, "390": 7000}
_NO_DEDUCTIBLE_KINDS = {"chronic_outpatient", "special_drug"}
_ACCOUNT_CAP_FEN = 200_000  # 2,000 yuan


def floor_share(amount: int, basis_points: int) -> int:
    """amount x basis_points / 10,000, floored to the fen (ROUND_DOWN; integers only)."""
    return amount * basis_points // 10_000


def bureau_split(
    *,
    medfee_fen: int,
    fulamt_fen: int,
    overlmt_fen: int,
    preselfpay_fen: int,
    insutype: str,
    care_kind: str | None,
    assisted: bool,
    basic_paid: bool = True,
    account_balance_fen: int | None = None,
) -> dict[str, int]:
    """The sandbox bureau's split of one bill (module docstring), as `*_fen` amounts keyed by
    SettlementRecord field name."""
    parts = (medfee_fen, fulamt_fen, overlmt_fen, preselfpay_fen)
    if any(type(p) is not int or p < 0 for p in parts):
        raise ValueError("amounts must be non-negative integers of fen")
    inscp = medfee_fen - fulamt_fen - overlmt_fen - preselfpay_fen
    if inscp < 0:
        raise ValueError("the out-of-policy and first self-pay parts exceed the total")
    hifp = hifmi = hifob = 0
    if basic_paid:
        deductible = (
            0 if care_kind in _NO_DEDUCTIBLE_KINDS else _DEDUCTIBLE_FEN.get(insutype, 60_000)
        )
        hifp = floor_share(max(inscp - deductible, 0), _RATIO_BP.get(insutype, 7000))
        left = inscp - hifp
        if insutype == INSUTYPE_EMPLOYEE:
            hifob = floor_share(max(left - 2_000_000, 0), 8000)
        else:
            hifmi = floor_share(max(left - 1_000_000, 0), 6000)
    maf = floor_share(inscp + preselfpay_fen - hifp - hifmi - hifob, 5000) if assisted else 0
    psn_part = medfee_fen - hifp - hifmi - hifob - maf
    acct = 0
    if insutype == INSUTYPE_EMPLOYEE and account_balance_fen:
        acct = min(psn_part // 3, _ACCOUNT_CAP_FEN, account_balance_fen)
    return {
        "medfee_sumamt_fen": medfee_fen,
        "fulamt_ownpay_amt_fen": fulamt_fen,
        "overlmt_selfpay_fen": overlmt_fen,
        "preselfpay_amt_fen": preselfpay_fen,
        "inscp_scp_amt_fen": inscp,
        "hifp_pay_fen": hifp,
        "hifmi_pay_fen": hifmi,
        "hifob_pay_fen": hifob,
        "maf_pay_fen": maf,
        "oth_pay_fen": 0,
        "psn_part_amt_fen": psn_part,
        "acct_pay_fen": acct,
        "psn_cash_pay_fen": psn_part - acct,
    }
