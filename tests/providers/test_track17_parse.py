"""17TRACK v2.2 gettrackinfo replies and webhooks -> normalized events (spec/providers.md §1, §4)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tests.providers.conftest import NO_PHRASES, Parse
from tracker.status import TrackingStatus as S

# Every v2.2 sub_status of spec/providers.md §4.2, written out from the spec's §1 table.
EXPECTED = {
    "InfoReceived": S.info_received,
    "InTransit_PickedUp": S.picked_up, "InTransit_Other": S.in_transit, "InTransit_Departure": S.in_transit,
    "InTransit_Arrival": S.in_transit, "InTransit_CustomsProcessing": S.customs,
    "InTransit_CustomsReleased": S.customs, "InTransit_CustomsRequiringInformation": S.stranded,
    "Expired_Other": S.stale, "AvailableForPickup_Other": S.available_for_pickup,
    "OutForDelivery_Other": S.out_for_delivery,
    "DeliveryFailure_Other": S.delivery_failed, "DeliveryFailure_NoBody": S.unreachable,
    "DeliveryFailure_Security": S.stranded, "DeliveryFailure_Rejected": S.refused,
    "DeliveryFailure_InvalidAddress": S.address_problem,
    "Delivered_Other": S.delivered,
    "Exception_Other": S.delivery_failed, "Exception_Returning": S.returning,
    "Exception_Returned": S.returned,
    "Exception_NoBody": S.unreachable, "Exception_Security": S.stranded, "Exception_Damage": S.damaged,
    "Exception_Rejected": S.refused, "Exception_Delayed": S.stale, "Exception_Lost": S.lost,
    "Exception_Destroyed": S.damaged, "Exception_Cancel": S.cancelled,
    "NotFound_Other": S.no_first_scan, "NotFound_InvalidCode": S.no_first_scan,
}  # fmt: skip


@pytest.mark.parametrize(("code", "status"), sorted(EXPECTED.items()))
def test_every_sub_status_maps_to_its_status(parse: Parse, code: str, status: S) -> None:
    result = parse("track17", "query_all_codes.json", phrases=NO_PHRASES)
    assert result.problems == ()
    accepted = result.waybills[0]
    assert {e.raw_code: e.status for e in accepted.events}[code] is status


def test_fixture_covers_every_sub_status(parse: Parse) -> None:
    accepted = parse("track17", "query_all_codes.json", phrases=NO_PHRASES).waybills[0]
    assert {e.raw_code for e in accepted.events} == set(EXPECTED)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("NotFound", S.no_first_scan), ("InfoReceived", S.info_received), ("InTransit", S.in_transit),
        ("Expired", S.stale), ("AvailableForPickup", S.available_for_pickup),
        ("OutForDelivery", S.out_for_delivery), ("DeliveryFailure", S.delivery_failed),
        ("Delivered", S.delivered), ("Exception", S.delivery_failed),
    ],
)  # fmt: skip
def test_main_status_alone_describes_the_newest_event(parse: Parse, status: str, expected: S) -> None:
    body = {
        "code": 0,
        "data": {
            "accepted": [
                {
                    "number": "N1",
                    "carrier": 3011,
                    "track_info": {
                        "latest_status": {"status": status, "sub_status": None},
                        "tracking": {
                            "providers": [{"events": [{"time_iso": "2026-11-20T10:00:00+08:00", "description": "x"}]}]
                        },
                    },
                }
            ],
            "rejected": [],
        },
    }
    (waybill,) = parse("track17", json.dumps(body)).waybills
    assert (waybill.events[0].status, waybill.events[0].raw_code) == (expected, status)


def test_reply_is_oldest_first_with_offsets_honoured(parse: Parse) -> None:
    (waybill,) = parse("track17", "query_returning.json").waybills
    assert (waybill.waybill, waybill.company, waybill.courier) == ("9876543210123", "3011", "chinapost")
    assert [e.time for e in waybill.events] == [
        datetime(2024, 5, 17, 12, 1, tzinfo=UTC),
        datetime(2024, 5, 22, 1, 10, tzinfo=UTC),
    ]
    # Exception_Returning says it goes back; the words say why (拒收), which is the more specific state
    assert waybill.events[-1].status is S.refused and waybill.events[-1].location == "深圳市"


def test_time_without_offset_is_read_in_shanghai(parse: Parse) -> None:
    event = {"time_iso": "2026-11-20 10:00:00", "description": "已收件", "sub_status": "InTransit_PickedUp"}
    body = {
        "event": "TRACKING_UPDATED",
        "data": {"number": "N2", "carrier": 3011, "track_info": {"tracking": {"providers": [{"events": [event]}]}}},
    }
    (waybill,) = parse("track17", json.dumps(body), kind="push").waybills
    assert waybill.events[0].time == datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def test_rejected_numbers_become_provider_errors(parse: Parse) -> None:
    result = parse("track17", "query_all_codes.json", phrases=NO_PHRASES)
    rejected = {w.waybill: w.error for w in result.waybills[1:]}
    assert (
        rejected["ABC"]
        == "17track error -18019909: no tracking information yet (No tracking information at this time.)"
    )
    assert "not registered" in (rejected["1180999999999"] or "")


def test_reply_level_error_has_no_waybill_and_a_clear_message(parse: Parse) -> None:
    (failed,) = parse("track17", "error_token.json").waybills
    assert failed.waybill == "" and failed.error is not None
    assert failed.error.startswith("17track error -18010002: the 17token security key is invalid")


def test_webhook_is_parsed_like_an_accepted_item(parse: Parse) -> None:
    result = parse("track17", "webhook.json", kind="push")
    (waybill,) = result.waybills
    assert waybill.waybill == "1180123456790" and waybill.courier == "chinapost"
    assert [e.status for e in waybill.events] == [S.picked_up, S.refused, S.returned]  # 拒收 names why it returns


def test_same_scan_from_two_upstream_providers_is_kept_once(parse: Parse) -> None:
    event = {
        "time_iso": "2026-11-20T10:00:00+08:00",
        "description": "已收件",
        "sub_status": "InTransit_PickedUp",
    }
    body = {
        "event": "TRACKING_UPDATED",
        "data": {"number": "N3", "track_info": {"tracking": {"providers": [{"events": [event]}, {"events": [event]}]}}},
    }
    (waybill,) = parse("track17", json.dumps(body), kind="push").waybills
    assert len(waybill.events) == 1 and waybill.courier is None


@pytest.mark.parametrize(
    ("body", "waybill", "message"),
    [
        ("not json", None, "reply is not JSON"),
        ('{"data": {"accepted": []}}', None, "code: missing"),
        ('{"code": 0, "data": {"accepted": [{"track_info": {}}]}}', None, "data.accepted[0].number: missing"),
        (
            '{"code": 0, "data": {"accepted": [{"number": "N4", "track_info": []}]}}',
            "N4",
            "data.accepted[0].track_info: expected an object",
        ),
        (
            '{"code": 0, "data": {"accepted": [{"number": "N5", "track_info": {"tracking": {"providers": '
            '[{"events": [{"time_iso": "yesterday", "description": "x"}]}]}}}]}}',
            "N5",
            "data.accepted[0].track_info.tracking.providers[0].events[0].time_iso: expected a time, got 'yesterday'",
        ),
        (
            '{"code": 0, "data": {"accepted": [{"number": "N6", "track_info": {"latest_event": '
            '{"time_iso": "2024-13-40T25:00:00+08:00", "description": "x"}}}]}}',
            "N6",
            "data.accepted[0].track_info.latest_event.time_iso: expected a time, got '2024-13-40T25:00:00+08:00'",
        ),
        ('{"code": 0, "data": {"rejected": [{"error": {}}]}}', None, "data.rejected[0].number: missing"),
    ],
)
def test_malformed_parts_are_problems_naming_the_waybill(
    parse: Parse, body: str, waybill: str | None, message: str
) -> None:
    result = parse("track17", body)
    assert result.problems[0].waybill == waybill
    assert result.problems[0].message.startswith(message)
