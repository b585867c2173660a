"""Why an uploaded document was refused: one DomainError per reason, each a 422 with a stable code
and a Chinese sentence for the person holding the phone. The message never echoes the upload."""

from __future__ import annotations

from app.errors import ValidationFailed


class DocumentRejected(ValidationFailed):
    """Base of every refusal of an uploaded file (a route declares 422 for all of them)."""

    status, code, detail = 422, "document_rejected", "文件无法接收，请重新拍照或选择文件"


class DocumentEmpty(DocumentRejected):
    code, detail = "document_empty", "文件为空，请重新选择"


class DocumentTooLarge(DocumentRejected):
    code, detail = "document_too_large", "文件过大，请压缩后重新上传"


class DocumentTypeNotAllowed(DocumentRejected):
    code, detail = "document_type_not_allowed", "仅支持 JPG、PNG 图片或 PDF 文件"


class DocumentTypeMismatch(DocumentRejected):
    code, detail = "document_type_mismatch", "文件内容与声明的类型不符，请重新选择文件"


class DocumentCorrupt(DocumentRejected):
    code, detail = "document_corrupt", "文件已损坏或不完整，请重新拍照或选择文件"


class DocumentTooManyPixels(DocumentRejected):
    code, detail = "document_too_many_pixels", "图片尺寸过大，请缩小后重新上传"


class DocumentTooManyPages(DocumentRejected):
    code, detail = "document_too_many_pages", "PDF 页数过多，请拆分后分别上传"


class DocumentPdfActiveContent(DocumentRejected):
    code, detail = (
        "document_pdf_active_content",
        "PDF 含有脚本、自动操作或附件，不能接收，请另存为普通 PDF 或拍照上传",
    )


class DocumentPdfEncrypted(DocumentRejected):
    code, detail = "document_pdf_encrypted", "PDF 已加密，请去除密码后重新上传"


class DocumentPdfTooComplex(DocumentRejected):
    code, detail = (
        "document_pdf_too_complex",
        "PDF 结构过于复杂或解压后过大，请另存为普通 PDF 或拍照上传",
    )
