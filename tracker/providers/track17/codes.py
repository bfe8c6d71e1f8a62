"""17TRACK v2.2 status / sub_status -> the one taxonomy (docs/tracking-status.md). Data, not if-chains.

Never mix with the legacy v1 numeric main status (0, 10, 20, ...).
"""

from __future__ import annotations

from tracker.providers.messages import CodedAnswers
from tracker.status import TrackingStatus as S

# `sub_status` (per event and in latest_status) [V2] (§4.2).
SUB_STATUS: dict[str, S] = {
    "NotFound_Other": S.no_first_scan,
    "NotFound_InvalidCode": S.no_first_scan,
    "InfoReceived": S.info_received,
    "InTransit_PickedUp": S.picked_up,
    "InTransit_Other": S.in_transit,
    "InTransit_Departure": S.in_transit,
    "InTransit_Arrival": S.in_transit,
    "InTransit_CustomsProcessing": S.customs,
    "InTransit_CustomsReleased": S.customs,
    "InTransit_CustomsRequiringInformation": S.stranded,  # held (§1)
    "Expired_Other": S.stale,
    "AvailableForPickup_Other": S.available_for_pickup,
    "OutForDelivery_Other": S.out_for_delivery,
    "DeliveryFailure_Other": S.delivery_failed,
    "DeliveryFailure_NoBody": S.unreachable,
    "DeliveryFailure_Security": S.stranded,
    "DeliveryFailure_Rejected": S.refused,
    "DeliveryFailure_InvalidAddress": S.address_problem,
    "Delivered_Other": S.delivered,
    "Exception_Other": S.delivery_failed,
    "Exception_Returning": S.returning,  # 退件中
    "Exception_Returned": S.returned,  # 退件签收
    "Exception_NoBody": S.unreachable,
    "Exception_Security": S.stranded,
    "Exception_Damage": S.damaged,
    "Exception_Rejected": S.refused,
    "Exception_Delayed": S.stale,
    "Exception_Lost": S.lost,
    "Exception_Destroyed": S.damaged,  # destroyed in transit: a damage claim [I]
    "Exception_Cancel": S.cancelled,
}

# Main `status`, used when no sub_status is given [V2] (§4.2).
STATUS: dict[str, S] = {
    "NotFound": S.no_first_scan,
    "InfoReceived": S.info_received,
    "InTransit": S.in_transit,
    "Expired": S.stale,  # 运输过久
    "AvailableForPickup": S.available_for_pickup,
    "OutForDelivery": S.out_for_delivery,
    "DeliveryFailure": S.delivery_failed,
    "Delivered": S.delivered,
    "Exception": S.delivery_failed,
}

CODES: dict[str, S] = {**STATUS, **SUB_STATUS}

# The per-event `stage` of v2.2 (2022 on) and v2.4 webhooks and replies; usually the only code an event carries.
STAGE: dict[str, S] = {
    "InfoReceived": S.info_received,
    "PickedUp": S.picked_up,
    "Departure": S.in_transit,
    "Arrival": S.in_transit,
    "InTransit": S.in_transit,
    "OutForDelivery": S.out_for_delivery,
    "AvailableForPickup": S.available_for_pickup,
    "DeliveryFailure": S.delivery_failed,
    "Delivered": S.delivered,
    "Returning": S.returning,
    "Returned": S.returned,
    "Exception": S.delivery_failed,
}

# Codes that name a broad class: the description decides when it names something more precise
# (docs/tracking-status.md).
GENERIC: frozenset[str] = frozenset(
    {
        "InTransit", "InTransit_Other", "InTransit_Departure", "InTransit_Arrival", "Departure", "Arrival",
        "Exception", "Exception_Other", "DeliveryFailure", "DeliveryFailure_Other", "NotFound_Other",
        "Exception_Returning", "Returning",
    }
)  # fmt: skip

# Webhook `event` values (§4.3).
EVENT_UPDATED = "TRACKING_UPDATED"
EVENT_STOPPED = "TRACKING_STOPPED"

# Error codes seen in 17TRACK v2 replies (top-level `code` or `rejected[].error.code`) [I: from client code,
# not the spec], as (zh, en) for the reader (tracker/providers/messages.py); the provider's own `message` is
# always shown as well.
ERRORS: dict[str, tuple[str, str]] = {
    "-18010001": ("本机 IP 不在 17TRACK 白名单内", "this IP address is not in the 17TRACK whitelist"),
    "-18010002": ("17TRACK 密钥无效", "the 17token security key is invalid"),
    "-18010003": ("17TRACK 内部错误，稍后会再查", "17TRACK internal error: try again later"),
    "-18010004": ("17TRACK 账号已停用", "the 17TRACK account is disabled"),
    "-18010005": ("未授权的访问", "unauthorised access"),
    "-18010012": ("请求格式错误", "bad request format"),
    "-18010013": ("提交的数据无效", "the submitted data is invalid"),
    "-18010014": ("一次提交超过 40 个单号", "more than 40 numbers in one request"),
    "-18019901": ("单号已注册", "the number is already registered"),
    "-18019902": ("单号未注册，需先注册", "the number is not registered: register it first"),
    "-18019903": ("17TRACK 识别不出快递公司，请指定快递公司",
                  "17TRACK cannot detect the carrier: pass the carrier key"),
    "-18019908": ("查询额度已用完", "no tracking quota left"),
    "-18019909": ("暂无物流信息", "no tracking information yet"),
}  # fmt: skip
ANSWERS = CodedAnswers("17track error", "17track error", ERRORS)


def error_message(code: object, message: object) -> str:
    """A 17TRACK error (top-level or per number) -> one clear line, the provider's own words included."""
    key = str(code).strip() if code is not None else ""
    said = str(message).strip() if message else ""
    return ANSWERS.line(key or None, said or None)
