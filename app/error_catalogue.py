"""The one list of stable error codes: each code once, with its HTTP status and Chinese message.

Raise from it instead of spelling a code inline:

    from app.error_catalogue import E, raise_error

    raise E.policy_not_found()                                  # the catalogue's message
    raise E.window_not_extended(f"……当前截止日期 {closes}")       # a detail that carries data
    raise E.name_invalid(errors={"json": {"name": ["姓名格式不正确"]}})
    raise_error("id_number_format", exc.message)                 # a code a pure module chose

The body is app/errors.py's problem details; an `ErrorSpec` builds the DomainError subclass of
its status (NotFound for 404, ...), so `except NotFound` keeps working. A site passes its own
`detail` only where it carries data (an amount, a date, a name). `docs/errors.md` is generated
(app/error_docs.py, `flask errors doc`); the OpenAPI spec lists the codes (app/api.py);
tests/test_error_catalogue.py fails on a code raised inline. `also` lists other statuses a code
is still raised with; raising with a status outside `status` + `also` is a programming error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

from app.error_catalogue_claims import register as _register_claims_codes
from app.errors import (
    BadRequest,
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    RateLimited,
    Unauthorized,
    UpstreamUnavailable,
    ValidationFailed,
)

# The DomainError subclass a status maps to (others: a plain DomainError with that status).
_CLASS_FOR_STATUS: dict[int, type[DomainError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: ValidationFailed,
    429: RateLimited,
    503: UpstreamUnavailable,
}


@dataclass(frozen=True)
class ErrorSpec:
    code: str
    status: int
    message: str  # Chinese, for the person holding the phone
    description: str = ""  # one English line, for developers
    also: tuple[int, ...] = ()  # legacy statuses still used by unconverted sites

    def __call__(
        self,
        detail: str | None = None,
        *,
        errors: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        status: int | None = None,
    ) -> DomainError:
        """The exception to raise: `raise E.code()` or `raise E.code("detail with data")`."""
        status = status or self.status
        if status != self.status and status not in self.also:
            raise ValueError(f"{self.code} is not documented with status {status}")
        cls = _CLASS_FOR_STATUS.get(status, DomainError)
        return cls(
            detail or self.message, code=self.code, errors=errors, headers=headers, status=status
        )


CATALOGUE: dict[str, ErrorSpec] = {}


def _add(
    code: str, status: int, message: str, description: str = "", also: tuple[int, ...] = ()
) -> None:
    if code in CATALOGUE:  # pragma: no cover - caught at import
        raise RuntimeError(f"error code {code} listed twice")
    CATALOGUE[code] = ErrorSpec(code, status, message, description, also)


# --- generic, and werkzeug's own HTTP errors (app/errors.py HTTP_ERROR_MESSAGES) -------------
_add("bad_request", 400, "请求格式错误", "Malformed request")
_add("unauthorized", 401, "未登录或登录已失效，请重新登录", "Not signed in")
_add("forbidden", 403, "无权执行该操作", "Not allowed")
_add("not_found", 404, "资源不存在", "No such resource")
_add("method_not_allowed", 405, "不支持该请求方法", "Method not allowed (see Allow)")
_add("not_acceptable", 406, "无法提供所请求的格式", "Cannot produce the requested format")
_add("conflict", 409, "操作与当前状态冲突", "Conflicts with the current state")
_add("precondition_failed", 412, "资源已被修改，请刷新后重试", "If-Match did not match")
_add("payload_too_large", 413, "请求内容过大", "Body larger than allowed")
_add("unsupported_media_type", 415, "不支持的内容类型", "Unsupported content type")
_add("validation_failed", 422, "提交的信息有误，请检查后重试", "Field errors in `errors`")
_add("precondition_required", 428, "缺少必要的请求头", "A required header is missing")
_add("rate_limited", 429, "请求过于频繁，请稍后再试", "Rate limited (see Retry-After)")
_add(
    "rate_limit_unavailable",
    503,
    "系统繁忙，暂时无法受理，请稍后再试",
    "Rate-limit storage down on a route that refuses rather than go unlimited (Retry-After)",
)
_add("internal_error", 500, "服务器开小差了，请稍后再试", "Unexpected server error")
_add("upstream_unavailable", 503, "外部系统暂时不可用，请稍后再试", "An outside system failed")
_add("service_unavailable", 503, "服务暂时不可用，请稍后再试", "Service unavailable")
_add(
    "database_unavailable",
    503,
    "服务暂时繁忙，请稍后再试",
    "The database connection failed mid-request (see Retry-After); nothing was half-written",
)
_add("http_error", 400, "请求无法处理", "Any other HTTP error werkzeug raises")

# --- sign-in and tokens (app/auth) ----------------------------------------------------------
_add("token_missing", 401, "请先登录", "No bearer token")
_add("token_expired", 401, "登录已过期，请重新登录", "Access token expired")
_add("token_invalid", 401, "登录凭证无效，请重新登录", "Access token invalid")
_add("token_malformed", 401, "登录凭证无效，请重新登录", "Access token is not a JWT")
_add("token_algorithm", 401, "登录凭证无效，请重新登录", "JWT algorithm not allowed")
_add("token_unknown_key", 401, "登录凭证无效，请重新登录", "JWT kid not in the key ring")
_add("token_audience", 401, "登录凭证无效，请重新登录", "JWT for another audience")
_add("token_type", 401, "登录凭证无效，请重新登录", "Not an access token")
_add("token_stale_role", 401, "账号权限已变更，请重新登录", "Role changed since issue")
_add("token_stale_credentials", 401, "密码已重置，请重新登录", "Password reset since issue")
_add("account_disabled", 401, "账号已停用，请联系管理员", "Account disabled")
_add("role_forbidden", 403, "当前账号无权执行该操作", "Role not allowed here")
_add("refresh_token_invalid", 401, "登录凭证无效，请重新登录", "Unknown refresh token")
_add("refresh_token_revoked", 401, "登录已退出，请重新登录", "Refresh token revoked")
_add("refresh_token_reused", 401, "登录凭证已失效，请重新登录", "Refresh reuse: family revoked")
_add("refresh_token_expired", 401, "登录已过期，请重新登录", "Refresh token expired")
_add("wechat_code_invalid", 401, "微信登录凭证无效或已过期，请重新进入小程序")
_add("wechat_rate_limited", 429, "微信登录过于频繁，请稍后再试")
_add("wechat_unavailable", 503, "微信服务繁忙，请稍后再试")
_add("staff_credentials_invalid", 401, "用户名或密码错误")
_add(
    "staff_login_locked",
    429,
    "该账号登录失败次数过多，已暂时锁定，请稍后再试或联系运维人员解除锁定",
)
_add("staff_role_invalid", 422, "角色不正确", "Unknown staff role (detail lists the roles)")
_add("staff_organisation_scope", 422, "机构管理员必须指定所属机构，保险公司人员不得指定机构")
_add("staff_password_weak", 422, "密码至少12位")
_add("staff_username_taken", 409, "用户名已存在")
_add(
    "web_csrf_invalid",
    403,
    "页面已过期或请求来源无效，请刷新页面后重试",
    "Console page request without the session's CSRF token (or from another origin)",
)
_add("staff_account_not_found", 404, "员工账号不存在")
_add("staff_account_self", 409, "不能停用自己的账号或修改自己的角色")
_add("staff_account_fields", 422, "用户名和显示名称必填，且不超过64个字符")
_add("metrics_unauthorized", 401, "需要运维监控凭证", "/metrics bearer token wrong")

# --- idempotency (app/common/idempotency.py) ------------------------------------------------
_add("idempotency_key_required", 400, "缺少 Idempotency-Key 请求头")
_add("idempotency_key_invalid", 400, "Idempotency-Key 应为8-64位字母、数字或 _ . : -")
_add("idempotency_key_reused", 422, "该幂等键已用于另一笔不同的请求")
_add("idempotency_in_progress", 409, "相同的请求正在处理中，请稍后查询结果")

# --- identity and members (app/identity, app/members, app/staff) ----------------------------
_add(
    "identity_not_matched",
    422,
    "姓名与身份证号码不匹配，或未查询到本市基本医疗保险参保信息，请核对后重试",
    "Name/ID do not match (indistinguishable from unknown ID)",
)
_add(
    "identity_not_verified",
    422,
    "请先完成医保身份核验",
    "Identity not verified yet",
    also=(403,),  # claims still answers 403
)
_add(
    "consent_required",
    422,
    "核验医保身份需要您单独同意处理身份证号码等敏感个人信息",
    "Separate consent to process the ID number is missing (detail says whose)",
)
_add("guardian_consent_required", 422, "添加未满14周岁的未成年人，需要监护人同意处理其个人信息")
_add(
    "consent_text_outdated",
    422,
    "同意书内容已更新，请重新阅读最新版本并同意后再提交",
    "The consent names another text version than the one in force (an old cached text or "
    "garbage); nothing recorded. errors.text says which text, errors.current_text_version "
    "the version to show and send",
)
_add("identity_already_bound", 409, "该身份已绑定其他微信账号，如有疑问请联系客服")
_add("name_invalid", 422, "姓名格式不正确")
_add("id_number_format", 422, "身份证号码格式不正确", "ID number format (detail says how)")
_add("id_number_length", 422, "身份证号码应为18位")
_add("id_number_birth_date", 422, "身份证号码中的出生日期不合理")
_add("id_number_birth_future", 422, "身份证号码中的出生日期晚于今天")
_add("id_number_checksum", 422, "身份证号码校验位不正确，请核对后重新输入")
_add("bureau_unavailable", 503, "医保系统暂时无法访问，请稍后再试", "Bureau did not answer")
_add("member_not_found", 404, "账号不存在")
_add("member_already_verified", 409, "该微信账号已绑定其他身份")
_add("member_too_young", 422, "未满14周岁的未成年人请由监护人添加为家属")
_add("identity_unbind_blocked", 409, "该身份已有关联的投保、保单、理赔或资助记录，不能解除绑定")
_add("account_closure_blocked", 409, "尚有未办结的事项，暂不能注销账号")

# --- the value estimate ("what last year would have paid", app/estimates) ---------------------
_add(
    "estimate_consent_required",
    403,
    "查看“去年能赔多少”需要您单独同意我们向医保部门查询您和家属去年的医保结算记录",
    "No separate consent to fetch last year's settlement records",
)
_add(
    "estimate_consent_withdrawn",
    403,
    "您已撤回查询去年医保结算记录的同意，如需查看请重新同意",
    "The value-estimate consent was withdrawn",
)
_add(
    "estimate_consent_not_given",
    409,
    "您尚未同意查询去年医保结算记录，无需撤回",
    "Nothing to withdraw",
)
_add("estimate_consent_outdated", 422, "查询去年医保结算记录的授权说明已更新，请重新阅读并同意")
_add(
    "relation_invalid",
    422,
    "关系类型不正确",
    "Unknown relation, or a spouse (or a member adding one) below the legal age of marriage",
)
_add(
    "relation_age_implausible",
    422,
    "该家属的出生日期与所选关系不符，请核对所选关系",
    "A parent or child less than 12 years apart (grandparent or grandchild: 24), the older on "
    "the wrong side; detail names the relation and the gap",
)
_add(
    "spouse_already_added",
    409,
    "您已登记一位配偶，同一时间只能登记一位配偶；如原登记有误，请先删除后再添加",
    "One spouse at a time",
)
_add("relative_is_self", 409, "不能将本人添加为家属")
_add(
    "relative_exists",
    409,
    "该家属已添加",
    "The person is on the member's list already, under any relation (detail names it)",
)
_add("relative_not_found", 404, "家属不存在")

# --- products (app/products) ----------------------------------------------------------------
_add(
    "product_not_found",
    404,
    "产品不存在",
    "No such product / none open",
    also=(409, 422),  # bulk enrollment answers 409, programme validation 422
)
_add("product_plan_year_changed", 409, "产品的保障年度不能修改", "detail names the years")
_add("terms_version_changed", 409, "已发布的条款版本内容不能修改；请使用新的条款版本号")
_add("terms_not_found", 404, "产品条款不存在")
_add("product_retired", 409, "产品已下架，不能延长投保期")
_add("window_not_shortened", 422, "新的投保截止日期必须早于当前截止日期", "detail has the date")
_add("window_not_extended", 422, "新的投保截止日期必须晚于当前截止日期", "detail has the date")
_add("window_before_opening", 422, "投保截止日期不能早于投保开始日期")
_add("window_beyond_coverage", 422, "投保截止日期不能晚于保障结束日期", "detail has the date")

# --- enrollment, quotes and orders (app/enrollment) -----------------------------------------
_add("insured_empty", 422, "请至少选择一位被保险人")
_add("insured_duplicate", 422, "被保险人重复")
_add("terms_not_accepted", 422, "请阅读并同意保险条款后再投保")
_add("terms_version_outdated", 422, "保险条款已更新，请重新阅读并同意最新条款")
_add("already_enrolling", 409, "被保险人本年度已投保或有未完成的投保订单")
_add("payment_method_required", 422, "请选择支付方式")
_add("payment_method_unavailable", 422, "该产品不支持此支付方式")
_add("order_not_found", 404, "订单不存在")
_add("payment_not_found", 404, "支付记录不存在")
_add("window_closed", 422, "当前不在投保期内")
_add("basic_insurance_missing", 422, "未查询到本市基本医疗保险参保信息")
_add("basic_insurance_suspended", 422, "基本医疗保险处于暂停参保状态，恢复参保后方可投保")
_add("region_not_covered", 422, "非本市基本医疗保险参保人员，不在投保范围内")
_add("already_insured", 422, "本保障年度已投保或有未完成的投保订单")
_add("relation_not_allowed", 422, "本产品不支持为该关系的家属投保")
_add("personal_account_unavailable", 422, "仅职工医保参保人可使用个人账户支付")
_add("personal_account_suspended", 422, "医保暂停参保期间不能使用个人账户支付")
_add("family_pool_relation", 422, "个人账户家庭共济仅可为本人、配偶、父母、子女支付")
_add(
    "family_pool_relation_implausible",
    422,
    "个人账户家庭共济不能为该家属支付：所登记的关系与出生日期不符或登记了多位配偶",
    "A relative stored before the relation rules breaks them (age gap, marriage age, a second "
    "spouse): the personal account refuses, WeChat Pay may still pay; detail says which",
)
_add(
    "family_pool_relative_not_listed",
    422,
    "订单中的家属已从家属列表中删除或关系已变更，个人账户不能按原订单为其支付",
    "An order placed earlier names someone the member has since removed from the list (or "
    "listed again under another relation): the personal account refuses, WeChat Pay may pay",
)

# --- payments (app/payments) ----------------------------------------------------------------
_add("order_already_paid", 409, "订单已支付")
_add("order_closed", 409, "订单已关闭，请重新下单")
_add("order_nothing_to_pay", 409, "该订单无需支付")
_add("order_state_changed", 409, "订单状态已变化，请刷新")
_add("payment_in_progress", 409, "订单正在扣款确认中，请稍后查询")
_add("wechat_pay_unavailable", 503, "微信支付暂时不可用，请稍后再试")
_add("no_pending_wechat_payment", 409, "该订单没有待支付的微信支付单")
_add("notification_rejected", 401, "通知验签失败", "Payment notification signature bad")

# --- policies and refunds (app/policies) ----------------------------------------------------
_add("policy_not_found", 404, "保单不存在")
_add("policy_not_active", 409, "保单不是有效状态，不能退保")
_add("surrender_payer_only", 422, "仅投保时的付款人可以申请退保")
_add("refund_window_passed", 422, "已超过退保期限", "detail has the number of days")
_add("refund_claim_exists", 422, "该保单已申请理赔，不能退保")
_add("certificate_invalid", 404, "凭证无效或已被篡改")

# --- renewal (app/renewals) -------------------------------------------------------------------
_add("renewal_consent_not_accepted", 422, "请阅读并同意续保授权书")
_add(
    "renewal_consent_outdated", 422, "续保授权书已更新，请重新阅读并同意", "detail has the version"
)
_add("renewal_payer_only", 422, "仅投保时的付款人可以为该保单授权续保")
_add("renewal_policy_not_active", 409, "保单不是有效状态，不能授权续保")
_add("renewal_consent_not_found", 404, "续保授权不存在")
_add("renewal_not_offered", 422, "该产品没有可续保的上一年度产品")
_add("renewal_window_closed", 422, "该产品当前不在投保期内，不能发起续保")
_add("renewal_run_active", 409, "该产品已有正在进行的续保任务")
_add("renewal_run_busy", 409, "续保任务正在运行或已完成，不能重复启动")
_add("renewal_run_not_found", 404, "续保任务不存在")

# --- claims and documents (app/claims, app/documents) ---------------------------------------
_register_claims_codes(_add)

# --- sponsors, programmes and rosters (app/sponsors) ----------------------------------------
_add("organisation_exists", 409, "该统一社会信用代码的机构已存在")
_add("organisation_not_found", 404, "机构不存在")
_add("staff_organisation_not_found", 422, "所属机构不存在，请先由运营人员登记机构")
_add("staff_role_organisation_kind", 422, "该角色不能属于此类机构", "detail names role and kind")
_add("uscc_format", 422, "统一社会信用代码应为18位数字或大写字母")
_add("uscc_length", 422, "统一社会信用代码应为18位", "detail has the length given")
_add("uscc_character", 422, "统一社会信用代码只能包含数字和大写字母（不含I、O、Z、S、V）")
_add("uscc_authority", 422, "统一社会信用代码第1位（登记管理部门代码）不存在")
_add("uscc_category", 422, "统一社会信用代码第2位（机构类别代码）不正确")
_add("uscc_region", 422, "统一社会信用代码第3至8位（登记管理机关行政区划码）应为数字")
_add("uscc_checksum", 422, "统一社会信用代码校验位不正确，请核对后重新输入")
_add("programme_dates", 422, "结束日期不能早于开始日期")
_add("programme_plan_year", 422, "保障年度与项目日期不匹配")
_add("funding_kind", 422, "资助方式不正确")
_add("funding_amount", 422, "定额资助需填写金额（分），其他方式不填")
_add("funding_basis_points", 422, "比例资助需填写1至10000的万分比，其他方式不填")
_add("eligibility_category", 422, "资助对象类别不正确")
_add("eligibility_invalid", 422, "请选择资助对象类别，或设定为仅限名单人员（二者选一）")
_add("programme_not_found", 404, "资助项目不存在")
_add("programme_closed", 409, "资助项目已关闭，不能执行该操作")
_add("programme_status_conflict", 409, "资助项目当前状态不允许该操作")
_add("top_up_amount", 422, "充值金额应为1分至1亿元")
_add("subsidy_unavailable", 409, "资助名额或预算已用完，请重新获取报价")
_add("programme_not_roster", 409, "该资助项目按医保身份类别确定资助对象，不使用名单")
_add("roster_upload_not_found", 404, "名单上传记录不存在")
_add("donation_not_found", 404, "捐赠记录不存在")
_add("roster_file_empty", 422, "文件为空", "detail says what is empty")
_add("roster_format_xls", 422, "不支持旧版 Excel（.xls）文件，请另存为 .xlsx 或 CSV 后上传")
_add("roster_encoding", 422, "无法识别文件编码，请使用 UTF-8 或 GB18030（GBK）编码的 CSV")
_add("roster_format_unsupported", 422, "仅支持 CSV 或 XLSX 格式的名单文件")
_add("roster_csv_invalid", 422, "CSV 文件格式不正确（引号不匹配或字段过长）")
_add("roster_xlsx_invalid", 422, "XLSX 文件已损坏或不是有效的 Excel 文件")
_add("roster_xlsx_too_large", 422, "XLSX 文件解压后过大，请拆分后上传或改用 CSV")
_add("roster_headers_duplicate", 422, "表头中有重复的列", "detail names the column")
_add("roster_headers_missing", 422, "第一行应为表头，缺少必需的列", "detail names the columns")
_add("roster_too_many_rows", 422, "名单行数过多，请拆分后分批上传", "detail has the limit")
_add("roster_no_rows", 422, "文件中只有表头，没有人员数据")

# --- batch enrollment jobs (app/jobs) -------------------------------------------------------
_add("job_not_found", 404, "批量投保任务不存在")
_add("job_already_active", 409, "该资助项目已有正在进行的批量投保任务")
_add("job_finished", 409, "任务已结束，不能取消")
_add("programme_not_active", 409, "资助项目已暂停或关闭，不能批量投保")
_add("programme_partial_funding", 422, "只资助部分保费的项目不能批量投保：差额需由本人支付")

# --- invite campaigns (app/campaigns) -------------------------------------------------------
_add("campaign_not_found", 404, "邀请活动不存在")
_add("campaign_link_invalid", 404, "二维码无效或已被篡改，请向发起机构重新索取")
_add("campaign_expiry_past", 422, "有效期不能早于今天")
_add("campaign_expiry_after_programme", 422, "邀请的有效期不能晚于资助项目的结束日期")
_add("campaign_programme_not_full", 422, "邀请只能使用全额资助保费的项目（被邀请人无需付费）")
_add("campaign_category", 422, "资助对象类别不正确")
_add("campaign_age_range", 422, "年龄范围不正确", "detail says which bound")
_add("campaign_region", 422, "地区代码应为2至6位数字（行政区划代码的前几位）")
_add("campaign_revoked", 410, "该邀请已被发起机构撤销，二维码已失效")
_add("campaign_expired", 410, "该邀请已过期，二维码已失效")
_add("campaign_programme_closed", 410, "该邀请所属的资助项目已结束")
_add("campaign_exhausted", 409, "该邀请的名额已领完")
_add("campaign_programme_paused", 409, "该邀请所属的资助项目暂停中，请稍后再试")
_add("campaign_not_eligible_category", 422, "不符合该邀请的资助对象类别", "detail names them")
_add("campaign_not_eligible_age", 422, "不符合该邀请的年龄要求", "detail has the ages")
_add("campaign_not_eligible_region", 422, "不符合该邀请的参保地要求", "detail has the region")
_add("campaign_product_unavailable", 409, "该邀请对应的保险产品暂未开放")
_add("campaign_already_insured", 409, "您本保障年度已投保或有未完成的投保订单，无需再领取")
_add(
    "campaign_redemption_surrendered",
    409,
    "您已退保通过该邀请领取的保单，同一邀请不能再次领取；如需保障，请在投保期内自行投保",
    "The person surrendered the cover this campaign gave; detail says whose (self or relative)",
)
_add("campaign_not_free", 409, "该邀请无法全额资助本次投保")
_add("campaign_budget_exhausted", 409, "资助预算已用完，该邀请暂时无法领取")
_add(
    "campaign_quota_over_budget", 422, "名额超出资助项目的预算或人数名额", "detail has the numbers"
)
_add("payee_account_failed", 422, "该收款账户此前转账失败，请更换收款账户")
_add("payee_change_not_allowed", 409, "只有转账失败、尚未支付的理赔可以更正收款账户")

# --- product catalogues: 商保目录 and 特药目录 (app/catalogues) ---------------------------------
_add("catalogue_not_found", 404, "目录版本不存在")
_add("catalogue_file_empty", 422, "文件为空", "detail says what is empty")
_add("catalogue_format_xls", 422, "不支持旧版 Excel（.xls）文件，请另存为 .xlsx 或 CSV 后上传")
_add("catalogue_encoding", 422, "无法识别文件编码，请使用 UTF-8 或 GB18030（GBK）编码的 CSV")
_add("catalogue_format_unsupported", 422, "仅支持 CSV 或 XLSX 格式的目录文件")
_add("catalogue_csv_invalid", 422, "CSV 文件格式不正确（引号不匹配或字段过长）")
_add("catalogue_xlsx_invalid", 422, "XLSX 文件已损坏或不是有效的 Excel 文件")
_add("catalogue_xlsx_too_large", 422, "XLSX 文件解压后过大，请拆分后上传或改用 CSV")
_add("catalogue_too_many_rows", 422, "目录行数过多", "detail has the limit")
_add(
    "catalogue_rows_invalid",
    422,
    "目录文件有错误，整个文件未导入",
    "Some rows (or the header) are bad: errors.report has the per-row report; nothing written",
)
_add(
    "catalogue_version_conflict",
    409,
    "目录版本与已有版本冲突",
    "Same label, or in force on a day an active version of the same kind already is",
)
_add("catalogue_dates_reversed", 422, "失效日期早于生效日期", "detail has the dates")
_add("catalogue_label_invalid", 422, "版本号应为 1 至 40 个字符")
# --- claims: what the terms promise (amount kinds, parts that add up, second review) ---------
_add(
    "claim_amount_kind_unknown",
    422,
    "本产品没有这项费用",
    "detail names the unknown kinds and the kinds the product's buckets count",
)
_add(
    "claim_amounts_do_not_add_up",
    422,
    "各项金额合计与医疗费用总额不一致",
    "detail has the difference; a claim filed with documents only",
)

# --- special-drug service: applications, review, purchases (app/special_drugs) ------------------
_add("special_drug_application_not_found", 404, "特药申请不存在")
_add("special_drug_not_listed", 422, "该药品不在当前生效的特药目录内")
_add(
    "special_drug_indication_not_listed",
    422,
    "所选适应症不在该药品的目录适应症内",
    "detail lists the catalogue's indications",
)
_add("special_drug_policy_not_in_force", 409, "保单不在保障期内，无法办理特药服务")
_add(
    "special_drug_application_exists",
    409,
    "该被保险人已有该药品的申请（草稿、审核中或有效期内）",
    "One live application per insured person and drug",
)
_add("special_drug_application_not_editable", 409, "申请已提交，不能再修改材料")
_add(
    "special_drug_proof_missing",
    422,
    "请先上传处方和诊断证明（病理报告或基因检测报告）",
    "detail and errors.json.documents name what is missing",
)
_add("special_drug_application_state_conflict", 409, "申请状态已变化，请刷新后重试")
_add("special_drug_not_approved", 409, "特药申请尚未通过审核，不能申请购药报销")
_add("special_drug_purchase_date_invalid", 422, "购药日期无效", "detail has the cover period")
_add("special_drug_cap_busy", 409, "该药品同时提交的购药过多，请稍后重试")

# --- 一站式 direct settlement at the hospital counter (app/direct_settlement) ------------------
_add(
    "direct_signature_missing", 401, "缺少机构签名请求头", "X-Inst-Key-Id/Timestamp/Nonce/Signature"
)
_add("direct_institution_unknown", 401, "机构未登记或已停用")
_add("direct_signature_invalid", 401, "请求签名验证失败")
_add("direct_timestamp_stale", 401, "请求时间戳超出允许范围", "DIRECT_TIMESTAMP_WINDOW_SECONDS")
_add("direct_replayed", 409, "该签名请求已使用过，请勿重放")
_add("direct_request_invalid", 422, "结算数据格式不正确", "detail names the field")
_add("direct_institution_mismatch", 403, "结算数据的定点机构与签名机构不一致")
_add("direct_person_unknown", 404, "未找到该参保人的惠民保参保记录")
_add("direct_episode_unknown", 404, "医保未找到该次就诊的结算记录")
_add("direct_policy_not_in_force", 422, "就医日期不在惠民保保障期内，请按医保结算结果收费")
_add("direct_amounts_mismatch", 422, "结算金额不平衡", "detail lists what does not add up")
_add("direct_episode_claimed", 409, "该次就医已提交理赔，不能再一站式结算")
_add("direct_needs_review", 409, "本次就医需人工审核，请患者出院后申请理赔")
_add("direct_trial_unknown", 404, "预结算记录不存在")
_add("direct_trial_stale", 409, "预结算后数据已变化，请重新预结算")
_add("direct_settlement_number_used", 409, "该结算流水号已用于其他预结算")
_add("direct_trial_confirmed", 409, "该预结算已确认结算")
_add("direct_settlement_unknown", 404, "结算记录不存在")
_add("direct_cancel_blocked", 409, "同一次就医已有后续理赔，撤销需人工处理")
_add("direct_busy", 409, "结算系统繁忙，请稍后重试")
_add("direct_nothing_payable", 409, "本次就医惠民保无赔付金额，无需结算")

# --- personal-account refusals from the bureau (app/payments/services.py BUREAU_REFUSALS) -----
# A DEBIT_FAILED transaction (app/integrations/bureau/port.py) carries the bureau's failure
# code; each one we know is its own code, personal_account_<bureau code>, and any other falls
# back to personal_account_debit_failed.
_add("personal_account_insufficient_balance", 422, "医保个人账户余额不足，请选择其他支付方式")
_add("personal_account_insurance_suspended", 422, "医保暂停参保期间不能使用个人账户支付")
_add("personal_account_insurance_ended", 422, "医保已终止参保，不能使用个人账户支付")
_add("personal_account_no_personal_account", 422, "未查询到医保个人账户")
_add("personal_account_authorisation_expired", 422, "扣款授权已过期，请重新支付")
_add(
    "personal_account_authorisation_not_found", 422, "医保个人账户扣款失败", "No such authorisation"
)
_add(
    "personal_account_authorisation_mismatch",
    422,
    "医保个人账户扣款失败",
    "Authorisation for another person, amount or order",
)
_add("personal_account_authorisation_used", 422, "医保个人账户扣款失败", "Authorisation used")
_add(
    "personal_account_request_id_conflict",
    422,
    "医保个人账户扣款失败",
    "The request id was already used for a different request",
)
_add(
    "personal_account_debit_failed",
    422,
    "医保个人账户扣款失败",
    "The bureau refused without a code, or with one not catalogued above",
)

# --- claims: itemised lines given by the member or a reviewer (app/claims/line_intake.py) ------
_add("claim_lines_file_empty", 422, "文件为空", "detail says what is empty")
_add("claim_lines_format_xls", 422, "不支持旧版 Excel（.xls）文件，请另存为 .xlsx 或 CSV 后上传")
_add("claim_lines_encoding", 422, "无法识别文件编码，请使用 UTF-8 或 GB18030（GBK）编码的 CSV")
_add("claim_lines_format_unsupported", 422, "仅支持 CSV 或 XLSX 格式的费用明细文件")
_add("claim_lines_csv_invalid", 422, "CSV 文件格式不正确（引号不匹配或字段过长）")
_add("claim_lines_xlsx_invalid", 422, "XLSX 文件已损坏或不是有效的 Excel 文件")
_add("claim_lines_xlsx_too_large", 422, "XLSX 文件解压后过大，请拆分后上传或改用 CSV")
_add(
    "claim_lines_rows_invalid",
    422,
    "费用明细清单有错误，整个清单未导入",
    "The header or some rows are bad: errors.report has the per-row report; nothing stored",
)
_add(
    "claim_lines_do_not_add_up",
    422,
    "费用明细合计与理赔金额不一致",
    "detail names each difference; errors.totals has the figures in fen",
)
_add(
    "claim_lines_from_bureau",
    409,
    "一站式理赔的费用明细来自医保结算，不能由申请人更改",
    "A reviewer may correct them (PUT /staff/claims/{id}/lines)",
)


class _Raisers:
    """`E.policy_not_found(...)`: attribute access to the catalogue, failing loudly on a typo."""

    def __getattr__(self, code: str) -> ErrorSpec:
        try:
            return CATALOGUE[code]
        except KeyError:
            raise AttributeError(f"no error code {code!r} in app/error_catalogue.py") from None

    def __dir__(self) -> list[str]:  # pragma: no cover - for editors and shells
        return sorted(CATALOGUE)


E = _Raisers()


def error(code: str, detail: str | None = None, **kwargs: Any) -> DomainError:
    """The catalogued error `code`, for a code a pure module chose at run time:
    `raise error(exc.code, exc.message, errors=...) from None`."""
    return getattr(E, code)(detail, **kwargs)


def raise_error(code: str, detail: str | None = None, **kwargs: Any) -> NoReturn:
    """Raise the catalogued error `code`."""
    raise error(code, detail, **kwargs)
