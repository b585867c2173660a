"""The claims' and documents' error codes (app/claims, app/documents): a section of the one
catalogue (app/error_catalogue.py), kept in its own module so that module stays one concern's
size. `register` is called by the catalogue at this section's place, so the codes keep their
order in docs/errors.md and the spec."""

from __future__ import annotations

from collections.abc import Callable


def register(add: Callable[..., None]) -> None:
    add("claim_not_found", 404, "理赔申请不存在")
    add("claim_state_conflict", 409, "理赔申请当前状态不能执行此操作", "detail names the state")
    add("claim_not_editable", 409, "理赔申请已提交，不能再修改")
    add("claim_not_draft", 409, "只能删除草稿")
    add("claim_incomplete", 422, "理赔申请信息不完整", "missing fields in `errors`")
    add("claim_documents_missing", 422, "缺少材料", "detail lists the missing documents")
    add("claim_busy", 409, "理赔系统繁忙，请稍后重试")
    add("claim_not_assigned", 409, "请先将该理赔申请分配给自己")
    add("claim_not_payable", 409, "按理赔规则本案不予赔付，请选择拒赔并说明理由")
    add(
        "claim_payable_changed",
        409,
        "理算结果已变化，请核对新的应赔金额后重新核准",
        "Approval would pay another amount than the reviewer approved (expected_payable_fen): "
        "detail names both, `errors.payable` has expected_fen and current_fen; nothing changed",
    )
    add("care_dates_invalid", 422, "出院日期不能早于入院日期")
    add("care_date_in_future", 422, "就医日期不能晚于今天")
    add("settlement_amounts_locked", 422, "医保结算数据来自医保部门，不能修改")
    add("settlement_not_found", 404, "未找到该医保结算记录（或已冲销）")
    add("settlement_not_claimable", 422, "该笔结算的医疗类别（如普通门诊）不属于惠民保保障范围")
    add("settlement_already_claimed", 409, "该医保结算记录已提交过理赔")
    add("human_review_not_available", 409, "只有系统自动作出的拒赔决定可以申请人工复核")
    add("recheck_not_available", 409, "只有审核员作出的拒赔决定可以申请复核")
    add("recheck_already_requested", 409, "该理赔已申请过复核，复核结论为最终结论")
    add("recheck_period_passed", 409, "已超过复核申请期限", "detail has the number of days")
    add("recheck_same_reviewer", 403, "复核须由原拒赔审核员以外的审核员办理")
    add("reviewer_not_found", 422, "只能分配给有效的审核员")
    add("payout_in_progress", 409, "理赔款正在支付中")
    add("payee_account_invalid", 422, "银行账号应为 10 至 30 位数字")
    add("payee_not_allowed", 422, "理赔款只能支付给被保险人本人", "detail explains minors")
    add("too_many_documents", 422, "理赔材料数量已达上限", "detail has the limit")
    add("storage_unavailable", 503, "材料存储暂时无法访问，请稍后重试")
    add(
        "document_upload_busy",
        429,
        "您上传的材料正在处理中，请稍后再上传",
        "This member already has DOCUMENT_HEAVY_PER_MEMBER uploads in work (Retry-After)",
    )
    add(
        "document_processing_busy",
        503,
        "材料处理繁忙，请稍后重试",
        "Every document-processing slot of the worker is busy (Retry-After)",
    )
    add("document_missing", 422, "请上传文件")
    add("document_not_found", 404, "材料不存在")
    add("document_rejected", 422, "文件无法接收，请重新拍照或选择文件")
    add("document_empty", 422, "文件为空，请重新选择")
    add("document_too_large", 422, "文件过大，请压缩后重新上传")
    add("document_type_not_allowed", 422, "仅支持 JPG、PNG 图片或 PDF 文件")
    add("document_type_mismatch", 422, "文件内容与声明的类型不符，请重新选择文件")
    add("document_corrupt", 422, "文件已损坏或不完整，请重新拍照或选择文件")
    add("document_too_many_pixels", 422, "图片尺寸过大，请缩小后重新上传")
    add("document_too_many_pages", 422, "PDF 页数过多，请拆分后分别上传")
    add(
        "document_pdf_active_content",
        422,
        "PDF 含有脚本、自动操作或附件，不能接收，请另存为普通 PDF 或拍照上传",
    )
    add("document_pdf_encrypted", 422, "PDF 已加密，请去除密码后重新上传")
    add(
        "document_pdf_too_complex", 422, "PDF 结构过于复杂或解压后过大，请另存为普通 PDF 或拍照上传"
    )
    add(
        "claim_assign_self_only",
        403,
        "审核员只能将理赔申请分配给自己",
        "A reviewer assigning a claim to someone else (operators may)",
    )
