"""Who wins between a provider's code, the courier's words and the package-level state (docs/tracking-status.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tracker.phrases import PhraseBook, PhraseRule
from tracker.providers.evidence import _KNOWN, Code, Reading, finish, read_code, read_event
from tracker.status import TrackingStatus as S

T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
BOOK = PhraseBook(
    [
        PhraseRule(S.delivered, 70, ("已签收",), ("未签收",)),
        PhraseRule(S.out_for_delivery, 50, ("派件", "派送"), ("派送不成功",)),
        PhraseRule(S.delivery_failed, 75, ("派送不成功",)),
        PhraseRule(S.in_transit, 30, ("到达",)),
        PhraseRule(S.intercepted, 86, ("拦截",)),
        PhraseRule(S.returning, 80, ("退回",)),
    ]
)
GENERIC_IN_TRANSIT = Code("0", S.in_transit, True)
SPECIFIC_OUT_OF_AREA = Code("207", S.out_of_area, False)
UNLISTED = Code("999", S.unknown, False)
GENERIC_RETURNING = Code("6", S.returning, True)  # 退回: the words may name its cause


def _read(codes: tuple[Code | None, ...], text: str) -> Reading:
    return read_event(T0, codes, text, None, BOOK)


@pytest.mark.parametrize(
    ("codes", "text", "status", "raw", "source"),
    [
        # 1. a specific code wins, whatever the words say
        ((SPECIFIC_OUT_OF_AREA,), "快件已签收", S.out_of_area, "207", "code"),
        # 2. a generic code gives way to words that name a state; the raw code is kept
        ((GENERIC_IN_TRANSIT,), "快件已签收，签收人：本人", S.delivered, "0", "text"),
        ((GENERIC_IN_TRANSIT,), "正在派送中", S.out_for_delivery, "0", "text"),
        # ... negations are read whole
        ((GENERIC_IN_TRANSIT,), "派送不成功，收件人未签收", S.delivery_failed, "0", "text"),
        # 3. without a code, the words decide
        ((None,), "【深圳市】正在派件", S.out_for_delivery, "", "text"),
        ((), "快件已签收", S.delivered, "", "text"),
        # ... but only words naming a more specific state: 退回 gives way to 拦截, not to a transit scan
        ((GENERIC_RETURNING,), "快件已拦截成功", S.intercepted, "6", "text"),
        ((GENERIC_RETURNING,), "到达【义乌转运中心】", S.returning, "6", "generic"),
        # 4. a generic code alone still says what it can
        ((GENERIC_IN_TRANSIT,), "【义乌】扫描", S.in_transit, "0", "generic"),
        # 5. neither says anything: unknown, the raw code kept
        ((UNLISTED,), "新状态", S.unknown, "999", "none"),
        ((None, None), "", S.unknown, "", "none"),
        # the most trusted specific code wins over a less trusted one
        ((GENERIC_IN_TRANSIT, SPECIFIC_OUT_OF_AREA), "", S.out_of_area, "207", "code"),
    ],
)
def test_who_wins(codes: tuple[Code | None, ...], text: str, status: S, raw: str, source: str) -> None:
    reading = _read(codes, text)
    assert (reading.event.status, reading.event.raw_code, reading.source) == (status, raw, source)


def _at(hours: int, reading: Reading) -> Reading:
    return Reading(reading.event._replace(time=T0 + timedelta(hours=hours)), reading.source)


def test_package_state_speaks_only_for_a_newest_event_with_nothing_better() -> None:
    older = _at(0, _read((None,), "到达【义乌转运中心】"))
    said = _at(5, _read((None,), "正在派件"))
    silent = _at(5, _read((None,), "扫描"))
    generic = _at(5, _read((GENERIC_IN_TRANSIT,), "扫描"))
    package = Code("404", S.refused, False)
    # the newest event's own words win over the package
    assert [e.status for e in finish([older, said], package)] == [S.in_transit, S.out_for_delivery]
    # an event nothing explains takes the package state, and keeps no code of its own
    events = finish([older, silent], package)
    assert (events[-1].status, events[-1].raw_code) == (S.refused, "404")
    # a generic code alone gives way to a specific package state, not to a generic one
    assert finish([older, generic], package)[-1].status is S.refused
    assert finish([older, generic], Code("2", S.in_transit, True))[-1].status is S.in_transit
    # only the newest event: an older silent event stays unknown
    assert [e.status for e in finish([silent, _at(9, said)], package)] == [S.unknown, S.out_for_delivery]
    # no package state, or one nobody knows: nothing changes
    assert finish([older, silent], None)[-1].status is S.unknown
    assert finish([older, silent], UNLISTED)[-1].status is S.unknown
    # the provider says signed (Kuaidi100 state 3, Kdniao State 3) while the newest words say only 派送中: signed;
    # words that say more than progress (派送不成功, 退回) keep their say
    signed = Code("3", S.delivered, False)
    assert [e.status for e in finish([older, said], signed)] == [S.in_transit, S.delivered]
    failed = _at(5, _read((None,), "派送不成功，客户电话无人接听"))
    assert finish([older, failed], signed)[-1].status is S.delivery_failed


def test_finish_orders_by_time_and_keeps_the_given_order_for_equal_times() -> None:
    first, second = _at(3, _read((None,), "到达 A")), _at(3, _read((None,), "到达 B"))
    earlier = _at(1, _read((None,), "正在派件"))
    assert [e.text for e in finish([first, second, earlier], None)] == ["正在派件", "到达 A", "到达 B"]


def test_a_code_reads_through_its_own_table_and_only_known_codes_are_kept() -> None:
    kuaidi100 = {"5": S.out_for_delivery, "0": S.in_transit}
    other = {"5": S.delivered}  # the same raw code in another provider's table
    generic = frozenset({"0"})
    before = len(_KNOWN)
    assert read_code("5", kuaidi100, generic) == Code("5", S.out_for_delivery, False)
    assert read_code("5", other, generic) == Code("5", S.delivered, False)
    assert read_code("0", kuaidi100, generic) == Code("0", S.in_transit, True)
    assert read_code("5", kuaidi100, generic) == Code("5", S.out_for_delivery, False)  # again, from the cache
    assert len(_KNOWN) == before + 3
    for n in range(100):  # a hostile reply's made-up codes: read, never kept
        assert read_code(f"x{n}", kuaidi100, generic) == Code(f"x{n}", S.unknown, False)
    assert len(_KNOWN) == before + 3
    assert read_code("", kuaidi100, generic) is None and read_code(None, kuaidi100, generic) is None


@pytest.mark.parametrize(
    ("text", "status", "source"), [("快件已签收", S.delivered, "text"), ("您好", S.unknown, "none")]
)
def test_an_event_read_from_words_alone_is_the_one_the_constructors_make(text: str, status: S, source: str) -> None:
    """The words-only path builds its event and reading without their constructors (evidence.read_event): the
    same types, fields and defaults, and they compare, replace and unpack as the constructors' do."""
    from tracker.domain import TrackingEvent

    read = read_event(T0, (None, None), text, "成都市", BOOK)
    made = Reading(TrackingEvent(T0, status, "", text, "成都市"), source)
    assert read == made and type(read) is Reading and type(read.event) is TrackingEvent
    assert read.event._asdict() == made.event._asdict()
    assert read.event._replace(raw_code="3") == made.event._replace(raw_code="3")
