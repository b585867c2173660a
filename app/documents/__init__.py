"""Claim documents: the kinds a member uploads and the safety check every upload passes before it
is stored (`sanitise`). Storage itself is a port: app/integrations/storage."""

from app.documents.errors import (
    DocumentCorrupt,
    DocumentEmpty,
    DocumentPdfActiveContent,
    DocumentPdfEncrypted,
    DocumentPdfTooComplex,
    DocumentRejected,
    DocumentTooLarge,
    DocumentTooManyPages,
    DocumentTooManyPixels,
    DocumentTypeMismatch,
    DocumentTypeNotAllowed,
)
from app.documents.sanitise import CleanDocument, DocumentLimits, sanitise, sniff_media_type
from app.documents.types import DOCUMENT_TYPE_LABELS, DOCUMENT_TYPES

__all__ = [
    "CleanDocument",
    "DocumentLimits",
    "sanitise",
    "sniff_media_type",
    "DOCUMENT_TYPES",
    "DOCUMENT_TYPE_LABELS",
    "DocumentRejected",
    "DocumentEmpty",
    "DocumentTooLarge",
    "DocumentTypeNotAllowed",
    "DocumentTypeMismatch",
    "DocumentCorrupt",
    "DocumentTooManyPixels",
    "DocumentTooManyPages",
    "DocumentPdfActiveContent",
    "DocumentPdfEncrypted",
    "DocumentPdfTooComplex",
]
