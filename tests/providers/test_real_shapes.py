"""The providers' real, sparse shapes (docs/providers.md): every event gets the status its words say.

The fixtures follow each provider's documented shapes, the sparse ones included: Kdniao 1002 traces with only
AcceptTime/AcceptStation, Kdniao 101 pushes with Count as a number and unscanned items, Kuaidi100 replies for
resultv2 0 (no status fields) and 1 (status names only), Java SDK replies with `"result": false` next to
`"message": "ok"`, abort pushes, 17TRACK v2.2 webhooks with `stage` and no per-event sub_status, stop notices and
minimal bodies, and v2.4 replies. The expected statuses are what the couriers' words say, written by hand.
"""

from __future__ import annotations

from tests.providers.conftest import Parse
from tracker.status import TrackingStatus as S


def statuses(waybill) -> list[S]:  # type: ignore[no-untyped-def]
    return [e.status for e in waybill.events]


def test_kdniao_1002_delivered_parcel_without_action_reads_every_event(parse: Parse) -> None:
    result = parse("kdniao", "query_1002_delivered_sparse.json")
    assert result.problems == ()
    (waybill,) = result.waybills
    assert (waybill.waybill, waybill.courier, waybill.error) == ("YT7566012345678", "yto", None)
    got = statuses(waybill)
    assert len(got) == 11 and S.unknown not in got
    assert got[0] is S.picked_up  # 已收件 取件人
    assert got[2:8] == [S.in_transit] * 6  # 已发出 下一站 / 已收入
    assert got[8:] == [S.out_for_delivery, S.available_for_pickup, S.delivered]  # 派件中, 菜鸟驿站 取件码, 已签收
    assert waybill.events[-1].raw_code == ""  # no code was sent; the words decided


def test_kdniao_101_push_with_count_as_number_and_unscanned_items(parse: Parse) -> None:
    result = parse("kdniao", "push_101_sparse.json", kind="push")
    assert result.problems == ()
    delivered, unscanned, yunda = result.waybills
    assert statuses(delivered) == [S.out_for_delivery, S.delivered]
    assert (unscanned.waybill, unscanned.courier, unscanned.events, unscanned.error) == (
        "773098765432101",
        "sto",
        (),
        None,
    )
    assert (yunda.waybill, yunda.courier) == ("4312345678901", "yunda")  # a number sent as a number
    assert statuses(yunda) == [S.out_for_delivery, S.unreachable]  # 派送不成功，收件人电话无人接听


def test_kuaidi100_resultv2_0_has_only_the_words(parse: Parse) -> None:
    (waybill,) = parse("kuaidi100", "query_resultv2_0_delivered.json").waybills
    assert statuses(waybill) == [
        S.picked_up,
        S.in_transit,
        S.in_transit,
        S.in_transit,
        S.in_transit,
        S.out_for_delivery,
        S.delivered,
    ]


def test_kuaidi100_resultv2_1_status_names_give_way_to_more_precise_words(parse: Parse) -> None:
    (waybill,) = parse("kuaidi100", "query_resultv2_1_names.json").waybills
    # 在途 is generic: "正在派送途中" says out for delivery; 签收 and the words agree
    assert statuses(waybill) == [S.picked_up, S.in_transit, S.in_transit, S.in_transit, S.out_for_delivery, S.delivered]
    assert waybill.events[-2].raw_code == "在途"


def test_kuaidi100_java_sdk_result_false_with_message_ok_is_a_success(parse: Parse) -> None:
    (waybill,) = parse("kuaidi100", "query_java_sdk_result_false.json").waybills
    assert waybill.error is None
    assert statuses(waybill) == [S.picked_up, S.out_for_delivery, S.available_for_pickup]


def test_kuaidi100_abort_after_60_days_is_a_stop_notice_with_the_events_kept(parse: Parse) -> None:
    (waybill,) = parse("kuaidi100", "push_abort_60_days.json", kind="push").waybills
    assert waybill.error is None and waybill.stop is not None
    assert (waybill.stop.kind, waybill.stop.reason) == ("abort", "60天无变化")
    assert statuses(waybill) == [S.picked_up, S.in_transit]


def test_track17_v22_stage_without_sub_status_and_package_status_disagreeing(parse: Parse) -> None:
    (waybill,) = parse("track17", "webhook_v22_stages.json", kind="push").waybills
    # latest_status says Exception; the newest event says available for pick-up and keeps it
    assert statuses(waybill) == [
        S.picked_up,
        S.in_transit,
        S.in_transit,
        S.out_for_delivery,
        S.available_for_pickup,
    ]
    assert waybill.events[-1].raw_code == "AvailableForPickup"


def test_track17_stopped_webhook_is_a_stop_notice(parse: Parse) -> None:
    result = parse("track17", "webhook_stopped.json", kind="push")
    assert result.problems == ()
    (waybill,) = result.waybills
    assert (waybill.waybill, waybill.courier, waybill.events, waybill.error) == ("9876543210124", "chinapost", (), None)
    assert waybill.stop is not None and waybill.stop.kind == "stopped"


def test_track17_minimal_update_without_track_info_is_no_error(parse: Parse) -> None:
    result = parse("track17", "webhook_updated_minimal.json", kind="push")
    assert result.problems == ()
    (waybill,) = result.waybills
    assert (waybill.waybill, waybill.events, waybill.error, waybill.stop) == ("RR123456789CN", (), None, None)


def test_track17_v24_reply_with_null_stage_reads_words_in_both_languages(parse: Parse) -> None:
    result = parse("track17", "query_v24_sparse.json")
    assert result.problems == ()
    accepted, rejected = result.waybills
    assert statuses(accepted) == [S.picked_up, S.in_transit, S.out_for_delivery, S.delivered]
    assert accepted.events[0].time.isoformat() == "2026-11-19T04:40:00+00:00"  # time_utc when time_iso is null
    assert rejected.waybill == "9876543210126" and rejected.error is not None and "register" in rejected.error


def test_a_push_body_given_as_a_reply_is_read_as_a_push(parse: Parse) -> None:
    for provider, name in [
        ("kuaidi100", "push_abort_60_days.json"),
        ("kdniao", "push_101_sparse.json"),
        ("track17", "webhook_stopped.json"),
    ]:
        as_push = parse(provider, name, kind="push")
        as_reply = parse(provider, name)
        assert as_reply == as_push
