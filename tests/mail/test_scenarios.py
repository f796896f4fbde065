"""Postfix as the sender, through the sandbox, while eipkeeper changes the fleet (issue 11).

Each test runs one scenario of tests/mail/scenarios.py in a fresh world with a steady stream
(2 messages a second to example.test by its MX records; for the scanners' scenarios, 1 a
second more to the scanner pool by its A records) and holds it to what Postfix's log and the
sandbox's mailboxes show. On every path eipkeeper takes: nothing lost, nothing to a stranger,
nothing left queued, every message delivered once. For what is done behind its back, the test
bounds how long the sender's resolver kept the given-up address once the zone dropped it, and
reports the mail that went there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from tests.mail.harness import MX_RATE, TTL_S, ZONE, Outcome

pytestmark = pytest.mark.postfix

Scenario = Callable[[str], Outcome]


def assert_no_mail_lost(
    outcome: Outcome, *, stranger_allowed: bool = False, copies_on: str = ""
) -> None:
    """COPIES_ON: an instance that failed mid-session. A message it took but whose `250`
    never reached Postfix is sent again to the next MX (RFC 5321 section 6.1 accepts the
    duplicate rather than a loss): such copies, and only on it, are allowed."""
    t, facts = outcome.tally, outcome.facts
    if copies_on:
        assert all(copies_on in line.split("postfix")[0] for line in facts["log_disagrees"])
        assert t.duplicates == len(facts["log_disagrees"])
        t = dataclasses.replace(t, duplicates=0)
        facts = {**facts, "log_disagrees": []}
    # The stream kept its rate: at least 2 a second to the MX hosts for the whole scenario.
    assert facts["sent_by_domain"][ZONE] >= MX_RATE[ZONE] * facts["stream_s"] - 2
    assert t.sent == sum(facts["sent_by_domain"].values())
    assert t.lost == 0, "a message no instance and no stranger received"
    assert t.queued == 0, "Postfix still holds mail after the scenario"
    assert t.duplicates == 0
    assert facts["log_disagrees"] == [], "the sandbox's mailboxes and Postfix's log differ"
    if not stranger_allowed:
        assert t.to_stranger == 0, "mail reached another customer's server"
        assert t.delivered == t.sent
    else:
        assert t.delivered + t.to_stranger == t.sent


def assert_cache_forgets_within_the_ttl(outcome: Outcome) -> None:
    """Once BIND no longer serves the given-up address, the sender's resolver answers it for at
    most the record's TTL (plus 2 s of polling on a loaded machine)."""
    facts = outcome.facts
    assert facts["dns_kept_s"] - facts["dns_kept_authoritative_s"] <= TTL_S + 2


def names(outcome: Outcome, prefix: str) -> dict[str, int]:
    """Delivered count per instance whose Name starts with PREFIX, by Name."""
    by_name = outcome.facts["names"]
    return {
        by_name[i]: n
        for i, n in outcome.tally.delivered_by_instance.items()
        if by_name.get(i, "").startswith(prefix)
    }


def test_burst_out_and_in_takes_mail_on_the_reserved_mx_and_loses_none(
    scenario: Scenario,
) -> None:
    outcome = scenario("burst")
    assert_no_mail_lost(outcome)
    burst = outcome.facts["burst_instance"]
    assert outcome.tally.delivered_by_instance.get(burst, 0) > 0, "the burst took no mail"
    assert outcome.facts["mx3_holder_after"] == "", "mx3 is back in reserve"


def test_a_burst_never_claims_a_listed_reserved_address(scenario: Scenario) -> None:
    outcome = scenario("burst-listed-reserve")
    assert_no_mail_lost(outcome)
    assert outcome.facts["bursts_launched"] == 0, "a burst was launched for a listed mx3"
    assert outcome.facts["mx3_holder_after"] == "", "the listed mx3 was claimed"


def test_failover_of_an_mx_holder_loses_no_mail(scenario: Scenario) -> None:
    outcome = scenario("failover")
    assert_no_mail_lost(outcome, copies_on=outcome.facts["failed_holder"])
    facts, by_instance = outcome.facts, outcome.tally.delivered_by_instance
    assert facts["new_holder"] not in ("", facts["failed_holder"])
    assert by_instance.get(facts["failed_holder"], 0) > 0, "mx1 took mail before it failed"
    assert by_instance.get(facts["new_holder"], 0) > 0, "the standby took mail after the move"


def test_drain_of_an_mx_holder_then_terminate_loses_no_mail(scenario: Scenario) -> None:
    outcome = scenario("drain-mx-holder")
    assert_no_mail_lost(outcome)
    facts, by_instance = outcome.facts, outcome.tally.delivered_by_instance
    assert facts["drained_state"] in ("shutting-down", "terminated")
    assert facts["new_holder"] not in ("", facts["drained"])
    assert by_instance.get(facts["new_holder"], 0) > 0, "the standby took mx1's mail"


def test_drain_of_a_scanner_then_terminate_loses_no_mail(scenario: Scenario) -> None:
    outcome = scenario("drain-scanner")
    assert_no_mail_lost(outcome)
    assert outcome.facts["drained_state"] in ("shutting-down", "terminated")
    assert not outcome.facts["address_in_dns_after"]
    scanners = names(outcome, "scan-")
    # Which scanner a sender picks from the round-robin name is the sender's choice (and the
    # drain may take one out early on a fast run): what must hold is that scanners got mail.
    assert sum(scanners.values()) > 0, scanners


def test_scanner_terminated_behind_eipkeepers_back_leaves_dns_within_the_ttl(
    scenario: Scenario,
) -> None:
    outcome = scenario("scanner-terminated-behind-back")
    assert_no_mail_lost(outcome, stranger_allowed=True)
    # `run` hears the state change and removes the address from the zone (the scenario waits
    # for that); the sender's resolver forgets it within the TTL after.
    assert_cache_forgets_within_the_ttl(outcome)


def test_eip_released_behind_eipkeepers_back_leaves_dns_within_the_ttl(
    scenario: Scenario,
) -> None:
    outcome = scenario("eip-released-behind-back")
    assert_no_mail_lost(outcome, stranger_allowed=True)
    # No event says an address was released: `run` finds it at a round (every second) and
    # takes mx1's A record out (the scenario waits for that); caches forget it within the TTL.
    assert_cache_forgets_within_the_ttl(outcome)


def test_replace_of_an_mx_holder_defers_nothing(scenario: Scenario) -> None:
    outcome = scenario("replace")
    assert_no_mail_lost(outcome)
    facts = outcome.facts
    assert outcome.tally.deferred == 0, "a planned upgrade defers no mail (SPEC section 8)"
    assert facts["new_holder"] not in ("", facts["replaced"])
    assert facts["new_holder_type"] == "c5.xlarge", "the successor is the larger instance"
    assert facts["replaced_holds"] == [], "the old holder is drained of every address"
    assert facts["mx3_holder_after"] == "", "the reserved address is given back"
    assert outcome.tally.delivered_by_instance.get(facts["new_holder"], 0) > 0
