"""`flask demo seed`: the demo product's 商保目录 and 特药目录, imported from the sheets
app/catalogues/demo_sheets.py builds, through the ordinary all-or-nothing import. Idempotent: a
version already imported under the same product, kind and label is left as it is."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from app.catalogues import services
from app.catalogues.demo_sheets import demo_catalogue_sheets
from app.catalogues.models import CatalogueVersion
from app.database import read_scope
from app.products.models import Product


def seed_catalogues() -> dict[str, int]:
    if current_app.config["PROFILE"] == "production":
        raise RuntimeError("demo data is never seeded in production")
    created = 0
    for sheet in demo_catalogue_sheets():
        with read_scope() as session:
            exists = session.scalar(
                select(CatalogueVersion.id)
                .join(Product, Product.id == CatalogueVersion.product_id)
                .where(
                    Product.code == sheet.product_code,
                    CatalogueVersion.kind == sheet.kind,
                    CatalogueVersion.label == sheet.label,
                )
            )
        if exists is not None:
            continue
        services.import_catalogue(
            kind=sheet.kind,
            product_code=sheet.product_code,
            data=sheet.data,
            filename=sheet.filename,
            label=sheet.label,
            effective_from=sheet.effective_from,
            effective_to=sheet.effective_to,
            actor=None,
            limits=services.Limits.from_config(current_app.config),
        )
        created += 1
    return {"catalogue_versions_created": created}
