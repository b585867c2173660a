"""The collecting checker behind product definitions (pure: no Flask, no database): each check
records every problem as (path, Chinese message) instead of stopping at the first, and
DefinitionError carries them all."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

MAX_BP = 10000
MAX_FEN = 10**12  # 100 亿元: anything above is a typo


class DefinitionError(ValueError):
    """Every problem found in one definition (or one batch of files), as (path, message)."""

    def __init__(self, errors: Iterable[tuple[str, str]], source: str | None = None) -> None:
        self.errors: list[tuple[str, str]] = list(errors)
        self.source = source
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.source}：" if self.source else ""
        lines = [f"{where}产品定义有 {len(self.errors)} 处错误"]
        lines += [f"  - {path}: {message}" for path, message in self.errors]
        return "\n".join(lines)


MISSING = object()  # a key absent from its table (None is a value the caller may pass)


class Get(Protocol):
    """A table's value by key: `get("code")` is MISSING when absent, `get("x", 0)` defaults."""

    def __call__(self, key: str, default: Any = ..., /) -> Any: ...


def getter(table: dict[str, Any]) -> Get:
    def get(key: str, default: Any = MISSING, /) -> Any:
        return table.get(key, default)

    return get


def checked(value: T | None) -> T:
    """A required value once the checker has recorded no error: every check returns None only
    after recording a problem (a missing required key is recorded by `table`), so None here is a
    bug in the parser, not in the definition."""
    if value is None:
        raise AssertionError("a required value is missing but no problem was recorded")
    return value


def join_path(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class Checker:
    """Collects (path, message) problems; each check returns the value, or None when wrong."""

    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []

    def add(self, path: str, message: str) -> None:
        self.errors.append((path or "(根)", message))

    def table(
        self, value: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
    ) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.add(path, "应为表（键值对）")
            return None
        for key in required:
            if key not in value:
                self.add(join_path(path, key), "缺少必填项")
        allowed = set(required) | set(optional)
        for key in value:
            if key not in allowed:
                self.add(join_path(path, key), "未知字段（请检查拼写）")
        return value

    def code_and_name(
        self,
        table: dict[str, Any],
        path: str,
        code: tuple[int, re.Pattern[str], str],
        name_max_length: int = 60,
    ) -> tuple[str | None, str | None]:
        """The `code` and `name` of an entry table (a list's item: an insurer, a condition);
        `code` is (max length, pattern, pattern hint)."""
        max_length, pattern, hint = code
        return (
            self.string(
                table.get("code", MISSING),
                join_path(path, "code"),
                max_length=max_length,
                pattern=pattern,
                pattern_hint=hint,
            ),
            self.string(
                table.get("name", MISSING), join_path(path, "name"), max_length=name_max_length
            ),
        )

    def integer(
        self,
        value: Any,
        path: str,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
        message: str | None = None,
    ) -> int | None:
        if value is MISSING:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(path, "应为整数")
            return None
        if minimum is not None and value < minimum:
            self.add(path, message or ("不能为负数" if minimum == 0 else f"不能小于 {minimum}"))
            return None
        if maximum is not None and value > maximum:
            self.add(path, message or f"不能大于 {maximum}")
            return None
        return value

    def fen(self, value: Any, path: str, *, positive: bool = False) -> int | None:
        """Money: integer fen, never negative (and > 0 when `positive`)."""
        if value is MISSING:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(path, "金额应为整数（单位：分）")
            return None
        if positive and value <= 0:
            self.add(path, "金额必须大于 0（单位：分）")
            return None
        if value < 0:
            self.add(path, "金额不能为负数（单位：分）")
            return None
        if value > MAX_FEN:
            self.add(path, "金额过大，请检查单位（应为分）")
            return None
        return value

    def ratio(self, value: Any, path: str) -> int | None:
        return self.integer(
            value,
            path,
            minimum=0,
            maximum=MAX_BP,
            message="比例应在 0 到 10000 个基点之间（10000 = 100%）",
        )

    def boolean(self, value: Any, path: str) -> bool | None:
        if value is MISSING:
            return None
        if not isinstance(value, bool):
            self.add(path, "应为 true 或 false")
            return None
        return value

    def string(
        self,
        value: Any,
        path: str,
        *,
        max_length: int = 200,
        pattern: re.Pattern[str] | None = None,
        pattern_hint: str = "",
    ) -> str | None:
        if value is MISSING:
            return None
        if not isinstance(value, str):
            self.add(path, "应为字符串")
            return None
        if not value.strip():
            self.add(path, "不能为空")
            return None
        if len(value) > max_length:
            self.add(path, f"长度不能超过 {max_length} 个字符")
            return None
        if pattern is not None and not pattern.fullmatch(value):
            self.add(path, f"格式不正确{('：' + pattern_hint) if pattern_hint else ''}")
            return None
        return value

    def day(self, value: Any, path: str) -> date | None:
        if value is MISSING:
            return None
        if isinstance(value, datetime):
            self.add(path, "应为日期（YYYY-MM-DD），不要带时间")
            return None
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        self.add(path, "应为有效日期（YYYY-MM-DD）")
        return None

    def choices(
        self, value: Any, path: str, allowed: tuple[str, ...], *, non_empty: bool = True
    ) -> tuple[str, ...] | None:
        if value is MISSING:
            return None
        if not isinstance(value, list):
            self.add(path, "应为列表")
            return None
        if non_empty and not value:
            self.add(path, "不能为空列表")
            return None
        ok = True
        seen: set[str] = set()
        for i, item in enumerate(value):
            if not isinstance(item, str) or item not in allowed:
                self.add(join_path(path, i), f"“{item}”不是允许的取值，可选：{'、'.join(allowed)}")
                ok = False
            elif item in seen:
                self.add(join_path(path, i), f"“{item}”重复")
                ok = False
            else:
                seen.add(item)
        return tuple(value) if ok else None

    def list_of_tables(self, value: Any, path: str, *, non_empty: bool = False) -> list[Any]:
        if value is MISSING:
            return []
        if not isinstance(value, list):
            self.add(path, "应为列表（TOML 中写作 [[...]]）")
            return []
        if non_empty and not value:
            self.add(path, "至少需要一项")
        return value
