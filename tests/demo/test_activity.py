"""`flask demo activity`: synthetic residents enroll through the real services, a few on each of
the last days, and the operator dashboard counts them by day, type and funding source."""

from __future__ import annotations

import time_machine

from app.demo.activity import seed_activity
from app.demo.residents import generate
from app.disclosure.dashboard import dashboard
from tests.security.conftest import fast_password_hashing  # noqa: F401  (fixture)

NOW = "2026-11-23T02:00:00+00:00"  # 10:00 in Shanghai, the demo product's window open


def test_residents_enroll_over_the_last_days(fast_password_hashing, seeded):
    residents = generate()
    with time_machine.travel(NOW, tick=True), seeded.app_context():
        assert seed_activity(residents, people=5, days=3)["activity_enrolled"] == 5
        d = dashboard()
        # Enrollment n goes to today - (n mod 3): today, -1, -2, today, -1.
        assert [x["people"] for x in d["enrollment"]["by_day"][-4:]] == [0, 1, 2, 2]
        assert (d["enrollment"]["total"], d["enrollment"]["today"]) == (5, 2)
        by_source = d["enrollment"]["by_funding_source"]
        assert by_source["personal_account"] + by_source["wechat"] == 5
        # Again: five more residents, none enrolled twice.
        assert seed_activity(residents, people=5, days=3)["activity_enrolled"] == 5
        assert dashboard()["enrollment"]["total"] == 10


def test_the_command(fast_password_hashing, seeded):
    with time_machine.travel(NOW, tick=True):
        result = seeded.test_cli_runner().invoke(args=["demo", "activity", "--people", "2"])
    assert result.exit_code == 0, result.output
    assert "activity_enrolled: 2" in result.output
