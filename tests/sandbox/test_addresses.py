"""The address pool: 127/8, away from 127.0.x.x, never an address in use or drawn before."""

from __future__ import annotations

import random

from eipkeeper.sandbox.addresses import AddressPool, is_sandbox_public


def test_draws_are_sandbox_addresses_and_never_repeat() -> None:
    pool = AddressPool(in_use=lambda: (), rng=random.Random(7))
    drawn = [pool.draw() for _ in range(2000)]
    assert len(set(drawn)) == len(drawn)
    assert all(is_sandbox_public(ip) for ip in drawn)


def test_an_address_in_use_is_not_drawn() -> None:
    first = AddressPool(in_use=lambda: (), rng=random.Random(1)).draw()
    pool = AddressPool(in_use=lambda: {first}, rng=random.Random(1))
    assert pool.draw() != first


def test_localhost_and_friends_are_not_sandbox_addresses() -> None:
    for ip in ("127.0.0.1", "127.0.0.53", "127.0.1.1", "127.255.255.255", "10.0.0.1", "x"):
        assert not is_sandbox_public(ip)
    assert is_sandbox_public("127.42.0.7")
