"""The switch timeline from hand-made samples: last old, first new, gap, flapping, steadiness."""

from __future__ import annotations

from eipkeeper.health.probes import ProbeResult
from eipkeeper.health.switch import Sample, SwitchTimeline, analyse, is_from

OLD = frozenset({"i-0000000000000000a", "mx-a"})
NEW = frozenset({"i-0000000000000000b", "mx-b"})
EVERY = 0.05


def samples(pattern: str, *, start: float = -0.1) -> list[Sample]:
    """One sample per letter, EVERY seconds apart: o old, n new, x another, a anonymous, . none."""
    names = {"o": "i-0000000000000000a", "n": "i-0000000000000000b", "x": "i-00000000000000009"}
    out = []
    for index, letter in enumerate(pattern):
        if letter == ".":
            result = ProbeResult(ok=False, detail="connection refused")
        else:
            result = ProbeResult(ok=True, detail="220", answered_by=names.get(letter, ""))
        out.append(Sample(at=round(start + index * EVERY, 3), result=result))
    return out


def timeline(pattern: str, *, steady: int = 3, visible_at: float | None = None) -> SwitchTimeline:
    return analyse(
        samples(pattern), call_at=0.0, old=OLD, new=NEW, steady=steady, visible_at=visible_at
    )


def test_a_clean_switch_has_no_gap_and_no_flapping() -> None:
    line = timeline("oooonnnn")
    assert line.identified and line.steady
    assert line.last_old_at == 0.05 and line.first_new_at == 0.1
    assert line.gap == 0.0 and line.flaps == 0
    assert line.probes == line.answered == 8


def test_the_gap_is_the_time_nobody_answered() -> None:
    line = timeline("oo....nnnn")
    assert line.last_old_at == -0.05 and line.first_new_at == 0.2
    assert line.gap == 0.2, "from the first unanswered probe to the first answer"


def test_flapping_counts_each_return_to_the_old_instance() -> None:
    line = timeline("oonon.onnnn")
    assert line.flaps == 2
    assert line.first_new_at == 0.0 and line.last_old_at == 0.2
    assert line.steady_at == 0.25
    assert line.gap == 0.05


def test_never_steady_when_the_new_instance_does_not_hold() -> None:
    line = timeline("oonnonno..", steady=3)
    assert not line.steady and line.steady_at is None
    assert line.gap == 0.05, "a silent tail counts up to the last probe"


def test_answers_from_others_are_listed() -> None:
    line = timeline("ooxnnn")
    assert line.others == ("i-00000000000000009",)


def test_anonymous_answers_count_only_after_the_association_is_visible() -> None:
    line = timeline("aa..aaaaaa", visible_at=0.15)
    assert not line.identified
    assert line.last_old_at is None and line.first_new_at is None
    assert line.steady_at == 0.15, "the first answer at or after the association showed"
    assert line.gap == 0.1


def test_greetings_may_name_the_instance_by_id_name_or_host_name() -> None:
    assert is_from("i-0000000000000000b", NEW)
    assert is_from("MX-B.example.com.", NEW)
    assert not is_from("mx-bb.example.com", NEW)
    assert not is_from("", NEW)
