"""Staff password hashes: production keeps argon2-cffi's strong Argon2id cost; only the testing
profile lowers it (app/config.py PASSWORD_HASH_*)."""

from __future__ import annotations

import argon2
from argon2 import extract_parameters

from app import config as app_config
from app.auth.services import login_staff, make_password_hasher


def test_production_profile_hashes_at_the_strong_cost():
    cfg = app_config.production_config()
    encoded = make_password_hasher(cfg.flask_settings()).hash("a production password")
    params = extract_parameters(encoded)
    assert encoded.startswith("$argon2id$")
    assert params.type is argon2.Type.ID
    assert (params.time_cost, params.memory_cost, params.parallelism) == (3, 65536, 4)
    assert params == argon2.profiles.RFC_9106_LOW_MEMORY
    assert make_password_hasher(cfg.flask_settings()).verify(encoded, "a production password")


def test_testing_profile_is_cheap_and_the_app_uses_its_configuration(app):
    assert app_config.testing_config().PASSWORD_HASH_MEMORY_KIB < 64 * 1024
    from app.auth.services import create_staff_account

    with app.app_context():
        account = create_staff_account(
            username="cost-check",
            role="operator",
            password="a long enough password",
            display_name="成本检查",
        )
        params = extract_parameters(account.password_hash)
        assert (params.time_cost, params.memory_cost, params.parallelism) == (1, 8, 1)
        pair, _ = login_staff("cost-check", "a long enough password")
        assert pair.access_token
