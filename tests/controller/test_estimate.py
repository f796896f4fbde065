"""`plan` says how long its apply takes at AWS's rate limits when that is over a minute."""

from __future__ import annotations

from eipkeeper.cloud.limits import EC2_WRITE, Size, minimum_seconds
from eipkeeper.controller.estimate import apply_seconds, apply_time_finding
from eipkeeper.controller.plan import Claim


def claims(n: int) -> list[Claim]:
    return [Claim("mx", f"eipalloc-{i}", f"127.1.0.{i % 250}", f"i-{i}", "r") for i in range(n)]


def test_a_thousand_claims_take_at_least_190_seconds() -> None:
    # AssociateAddress and CreateTags each: 50 at once, then 5 a second (FACTS.md).
    assert apply_seconds(claims(1000)) == (1000 - 50) / 5
    [finding] = apply_time_finding(claims(1000))
    assert finding.kind == "apply-time" and "at least 3 min" in finding.message


def test_a_small_plan_says_nothing() -> None:
    assert apply_seconds(claims(50)) == 0.0
    assert apply_time_finding(claims(300)) == [], "(300 - 50) / 5 = 50 s: under a minute"
    assert apply_time_finding(claims(360)), "62 s"


def test_the_slowest_bucket_decides() -> None:
    sizes = {"a": EC2_WRITE, "b": Size(5, 2)}
    assert minimum_seconds({"a": 100, "b": 25}, sizes) == max((100 - 50) / 5, (25 - 5) / 2)
