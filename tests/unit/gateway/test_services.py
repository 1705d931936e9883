"""The gateway's use cases on fakes: logging in, seeding and removing the demo logins (with the real argon2 once)."""

from __future__ import annotations

import pytest

from gateway import services
from gateway.adapters.passwords import Argon2Passwords
from gateway.domain.principals import Role
from gateway.domain.users import User
from plumbing.demo_logins import DEMO_LOGINS
from tests.unit.gateway.fakes import Clock, FakeUsers, PlainPasswords, issuer


def test_the_demo_logins_are_seeded_once_with_argon2_hashes() -> None:
    users, passwords = FakeUsers(), Argon2Passwords()
    users.add_if_missing(User("demo-operator", passwords.hash("changed"), Role.OPERATOR))
    assert services.seed_demo_logins(users, passwords) == ["demo-customer", "demo-customer-2"]
    assert services.seed_demo_logins(users, passwords) == []
    customer = users.rows["demo-customer"]
    assert customer.password_hash.startswith("$argon2id$")
    assert passwords.verify(customer.password_hash, DEMO_LOGINS[0].password)
    assert not passwords.verify(customer.password_hash, "retro-customer-2")
    assert passwords.verify(users.rows["demo-operator"].password_hash, "changed")
    assert not passwords.verify("not a hash", "changed")


def test_log_in_refuses_an_unknown_name_and_a_wrong_password_alike() -> None:
    users, passwords = FakeUsers(), PlainPasswords()
    services.seed_demo_logins(users, passwords)
    token = services.log_in(users, passwords, issuer(Clock()), "demo-operator", "retro-operator")
    assert token.expires_in == 900
    for name, password in (("demo-operator", "retro-customer"), ("nobody", "retro-operator")):
        with pytest.raises(services.BadCredentials):
            services.log_in(users, passwords, issuer(Clock()), name, password)


def test_the_demo_logins_that_exist_are_removed_and_other_users_kept() -> None:
    users, passwords = FakeUsers(), PlainPasswords()
    services.seed_demo_logins(users, passwords)
    users.remove("demo-customer-2")
    users.add_if_missing(User("ada", passwords.hash("secret"), Role.CUSTOMER))
    assert services.remove_demo_logins(users) == ["demo-customer", "demo-operator"]
    assert services.remove_demo_logins(users) == []
    assert list(users.rows) == ["ada"]
