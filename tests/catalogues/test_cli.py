"""`flask catalogues import|retire`: the same all-or-nothing import as the HTTP route, with the
per-row report printed."""

from __future__ import annotations

from sqlalchemy import func, select

from app.catalogues.models import CatalogueVersion
from app.database import get_session
from tests.catalogues.support import COMMERCIAL_ROWS, commercial_xlsx

ARGS = ["catalogues", "import", "--kind", "commercial", "--product", "ganzhou-demo-2026"]


def _versions(app) -> list[tuple[str, str]]:
    with app.app_context():
        session = get_session()
        rows = session.execute(select(CatalogueVersion.label, CatalogueVersion.status)).all()
        session.rollback()
        return [tuple(r) for r in rows]


def test_cli_import_prints_the_report_and_retire(seeded, tmp_path):
    path = tmp_path / "商保目录.xlsx"
    path.write_bytes(commercial_xlsx())
    runner = seeded.test_cli_runner()
    result = runner.invoke(args=[*ARGS, "--label", "2026.1", "--from", "2026-01-01", str(path)])
    assert result.exit_code == 0, result.output
    assert "共 3 行，全部通过" in result.output
    assert "commercial 2026.1 of ganzhou-demo-2026, 3 rows, 2026-01-01 .. 长期" in result.output
    assert _versions(seeded) == [("2026.1", "active")]
    version_id = int(result.output.split("imported version ")[1].split(":")[0])
    result = runner.invoke(args=["catalogues", "retire", str(version_id)])
    assert result.exit_code == 0 and "retired" in result.output, result.output
    assert _versions(seeded) == [("2026.1", "retired")]


def test_cli_import_of_a_bad_file_names_the_bad_rows_and_writes_nothing(seeded, tmp_path):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(commercial_xlsx([*COMMERCIAL_ROWS, ["X123", "坏编码", "", "", "", ""]]))
    result = seeded.test_cli_runner().invoke(
        args=[*ARGS, "--label", "2026.1", "--from", "2026-01-01", "--to", "2026-12-31", str(path)]
    )
    assert result.exit_code != 0
    assert "共 4 行，其中 1 行有错误，整个文件未导入" in result.output
    assert "第 6 行: [code_malformed]" in result.output
    assert "catalogue_rows_invalid" in result.output
    with seeded.app_context():
        assert get_session().scalar(select(func.count()).select_from(CatalogueVersion)) == 0
