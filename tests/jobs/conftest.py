"""Fixtures for job tests: the sponsor helpers of tests/sponsors (demo data seeded, the clock on
2026-11-23 10:00 Shanghai, when the demo product's window is open)."""

from tests.enrollment.conftest import family, frozen  # noqa: F401  (fixtures)
from tests.security.conftest import fast_password_hashing  # noqa: F401  (fixture)
from tests.sponsors.conftest import sponsors  # noqa: F401  (fixture)
