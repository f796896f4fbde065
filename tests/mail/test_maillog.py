"""The count itself: Postfix's log lines as Postfix 3.7 writes them (sample.maillog, taken from
a run here and edited to hold a deferral), and the tally over them."""

from __future__ import annotations

from pathlib import Path

from tests.mail.mailboxes import Mailboxes, Received, tally
from tests.mail.maillog import parse

LOG = (Path(__file__).parent / "sample.maillog").read_text(encoding="utf-8")


def test_the_log_gives_each_message_its_tries_relay_and_delay() -> None:
    log = parse(LOG)
    by_id = log.by_message_id
    assert set(by_id) == {"<a@sender.invalid>", "<b@sender.invalid>", "<c@sender.invalid>"}
    first = by_id["<a@sender.invalid>"].sent
    assert first is not None
    assert (first.relay_host, first.relay_address, first.delay_s) == (
        "mx1.example.test",
        "127.248.88.20",
        2.07,
    )
    assert by_id["<b@sender.invalid>"].deferrals == 1
    assert by_id["<a@sender.invalid>"].deferrals == 0
    assert sorted(log.delays()) == [0.5, 2.07, 7.5]
    assert log.connect_failures == {"127.100.252.59: Connection timed out": 1}


def test_the_log_alone_tells_instances_from_a_stranger_by_the_reply() -> None:
    boxes = Mailboxes.from_maillog(parse(LOG))
    assert {i: [m.message_id for m in ms] for i, ms in boxes.instances.items()} == {
        "i-66019526a0e4361d2": ["a@sender.invalid"],
        "i-d16cc3ed453e0b1c7": ["b@sender.invalid"],
    }
    assert [m.message_id for m in boxes.stranger] == ["c@sender.invalid"]


def test_tally_counts_only_the_streams_messages_and_calls_the_missing_lost() -> None:
    boxes = Mailboxes.from_json(
        {
            "instances": {
                "i-1": [
                    {"message_id": "<a@sender.invalid>", "received_at": 1.0, "rcpt_to": ["x"]},
                    {"message_id": "<probe@elsewhere>", "received_at": 1.0},
                ],
                "i-2": [{"message_id": "b@sender.invalid", "received_at": 2.0}],
            },
            "stranger": [{"message_id": "<c@sender.invalid>", "received_at": 3.0}],
        }
    )
    assert boxes.instances["i-1"][0] == Received("a@sender.invalid", 1.0, "", ("x",))
    submitted = [f"<{m}@sender.invalid>" for m in ("a", "b", "c", "d", "e")]
    count = tally("t", submitted=submitted, log=parse(LOG), boxes=boxes, queued=1)
    assert count.sent == 5
    assert count.delivered == 2
    assert count.delivered_by_instance == {"i-1": 1, "i-2": 1}
    assert count.to_stranger == 1
    assert (count.queued, count.lost) == (1, 1), "d or e still queued, the other lost"
    assert count.deferred == 1
    assert count.max_delay_s == 7.5
    assert count.p50_delay_s == 2.07
