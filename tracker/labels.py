"""The one place where the project's codes get the words a person reads, in Chinese and English.

Tracking statuses, exception kinds, flag/claim/alert states, levels, fact kinds, directions, claim types,
claim scenarios and the Tmall platform timers. The board (dashboard/i18n.py), the alerts and the digest
(tracker/alerts/), the CLI's tables and everything a person opens outside the board (claim packets, XLSX
exports: claims/export.py, tracker/sheets.py) read these tables, so a state is called the same on the
board, in an alert and in a packet. Courier names come from config/couriers.toml (`courier_name`).
A code missing from a table shows itself (never an empty cell).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tracker.domain import AWAITING_COURIER

LANGS = ("zh", "en")

# code: (中文, English)
STATUSES: dict[str, tuple[str, str]] = {
    "pending": ("待揽收", "Awaiting pickup"),
    "info_received": ("已下单", "Info received"),
    "picked_up": ("已揽收", "Picked up"),
    "in_transit": ("运输中", "In transit"),
    "out_for_delivery": ("派件中", "Out for delivery"),
    "available_for_pickup": ("待取件", "Ready for pickup"),
    "delivered": ("已签收", "Delivered"),
    "stale": ("物流不更新", "No updates"),
    "overdue_unsigned": ("超时未签收", "Overdue, not signed"),
    "no_first_scan": ("发货无揽收", "No first scan"),
    "lost": ("快递报丢", "Reported lost"),  # the courier's word; a confirmed loss is the `lost` flag (丢件)
    "out_of_area": ("超区", "Out of area"),
    "returning": ("退回中", "Returning"),
    "returned": ("已退回", "Returned"),
    "refused": ("拒收", "Refused"),
    "damaged": ("破损", "Damaged"),
    "stranded": ("滞留", "Stranded"),
    "address_problem": ("地址/电话问题", "Address problem"),
    "unreachable": ("联系不上收件人", "Recipient unreachable"),
    "delivery_failed": ("派送失败", "Delivery failed"),
    "locker_overdue": ("驿站超时未取", "Locker overdue"),
    "intercepted": ("已拦截", "Intercepted"),
    "cancelled": ("已取消", "Cancelled"),
    "missorted": ("错分", "Missorted"),
    "forwarded": ("转寄", "Forwarded"),
    "customs": ("清关中", "In customs"),
    "unknown": ("未知", "Unknown"),
}

KINDS: dict[str, tuple[str, str]] = {
    "no_first_scan": ("发货无揽收", "No first scan"),
    "stale": ("物流不更新", "Stale"),
    "lost_suspected": ("疑似丢件", "Lost (suspected)"),
    "lost": ("丢件", "Lost"),
    "out_of_area": ("超区", "Out of area"),
    "blind_area": ("盲区", "Blind area"),
    "stranded": ("滞留", "Stranded"),
    "refused": ("拒收", "Refused"),
    "returning": ("退回中", "Returning"),
    "returned": ("已退回", "Returned"),
    "address_problem": ("地址/电话问题", "Address problem"),
    "unreachable": ("联系不上", "Unreachable"),
    "locker_overdue": ("驿站超时", "Locker overdue"),
    "damaged": ("破损", "Damaged"),
    "delivered_disputed": ("签收争议", "Delivery disputed"),
    "late_shipment": ("延迟发货", "Late shipment"),
    "return_no_waybill": ("退货无单号", "Return without waybill"),
    "return_no_movement": ("退货无物流", "Return not moving"),
    "return_abandoned": ("退货超时", "Return abandoned"),
    "return_surface_mail": ("退货平邮", "Return by surface mail"),
    "return_waybill_shared": ("退货单号重复", "Return waybill shared"),
    "return_waybill_invalid": ("退货单号无效", "Return waybill invalid"),
    "return_partial": ("退货少件", "Return short"),
    "refund_deadline": ("退款时限", "Refund deadline"),
}

# flag, claim and alert states and the two levels: the board's words (a packet says the same)
STATES: dict[str, tuple[str, str]] = {
    "open": ("待处理", "Open"),
    "acknowledged": ("已确认", "Acknowledged"),
    "resolved": ("已解决", "Resolved"),
    "draft": ("草稿", "Draft"),
    "needs_config": ("缺参数", "Missing inputs"),
    "filed": ("已提交", "Filed"),
    "paid": ("已赔付", "Paid"),
    "rejected": ("已驳回", "Rejected"),
    "expired": ("已过期", "Expired"),
    "withdrawn": ("已撤回", "Withdrawn"),
    "pending": ("待发送", "Pending"),
    "held": ("暂缓", "Held"),
    "sent": ("已发送", "Sent"),
    "failed": ("失败", "Failed"),
    "cancelled": ("已取消", "Cancelled"),
    # not stored: an alert failed as the alert log tells them apart (dashboard/views/alerts.py)
    "failed_held": ("失败, 将随下一次暂缓汇总重发", "Failed, retried with the next held digest"),
    "gave_up": ("已放弃 (重试次数用完)", "Gave up (out of attempts)"),
    # not stored: the ledger's filter and the totals' first line (claims/claimable.py says what it is)
    "claimable": ("可索赔(草稿, 申报期未过)", "Claimable (drafts still in their filing window)"),
}

# a flag's level (severity), as the board, the listings and the demo's summary name it
SEVERITIES: dict[str, tuple[str, str]] = {
    "warn": ("提醒", "Warning"),
    "escalate": ("升级", "Escalated"),
}

FACTS: dict[str, tuple[str, str]] = {
    "loss_confirmed": ("快递确认丢件", "Loss confirmed by the courier"),
    "not_received": ("买家称未收到", "Buyer says not received"),
    "return_agreed": ("已同意退货", "Return agreed"),
    "buyer_unreachable": ("联系不上买家", "Buyer unreachable"),
    "return_short": ("退货少件", "Return short"),
    "waybill_invalid": ("退货单号无效", "Return waybill invalid"),
    "buyer_reached": ("已联系上买家", "Buyer reached"),
    "signed_without_consent": ("未经同意代签", "Signed by another without consent"),
    "signed_with_consent": ("买家同意代签", "Signed by another at the buyer's request"),
    "return_weighed": ("退货称重", "Return weighed"),
    "trade_succeeded": ("交易成功", "Trade succeeded"),
    "complaint_opened": ("未收到货维权", "Not-received complaint"),
    "complaint_amount_changed": ("修改维权金额", "Complaint amount changed"),
}

DIRECTIONS: dict[str, tuple[str, str]] = {
    "outbound": ("发货", "Outbound"),
    "return": ("退货", "Return"),
}

# zh: as config/claims/courier_claims.toml names the type (tests/test_labels.py keeps the two equal)
# the words are the board's (dashboard/i18n.py on the words branch had the same tables)
CLAIM_TYPES: dict[str, tuple[str, str]] = {
    "ship_delay": ("发货延迟", "Late shipment"),
    "return_delay": ("退货延迟", "Late return"),
    "service_attitude": ("服务态度", "Service attitude"),
    "install_grab": ("物流抢装", "Installation grabbed"),
    "freight": ("运费", "Freight"),
    "not_to_door": ("未送货入户", "Not delivered to the door"),
    "pickup_late": ("未按时上门退货", "Return pickup late"),
    "unbox_check": ("未履行开箱验货", "No unboxing check"),
    "power_on_check": ("未履行开箱通电验货", "No power-on check"),
    "wrong_item": ("发货错误", "Wrong item"),
    "goods_lost": ("货物丢失", "Goods lost"),
    "freight_insurance": ("聚划算大运险", "Freight insurance"),
    "loss": ("丢件", "Loss"),
    "damage": ("破损", "Damage"),
}

SCENARIOS: dict[str, tuple[str, str]] = {
    "default": ("一般情形", "Standard"),
    "signed": ("已签收", "Signed"),
    "refused": ("已拒收", "Refused"),
    "assault": ("人身冲突", "Assault"),
    "property_damage": ("财物损坏", "Property damage"),
    "other_loss": ("其他损失", "Other loss"),
    "signed_intact": ("签收, 完好", "Signed, intact"),
    "refused_intact": ("拒收, 完好", "Refused, intact"),
    "refused_damaged": ("拒收, 破损", "Refused, damaged"),
    "signed_damaged": ("签收, 破损", "Signed, damaged"),
    "refused_returned": ("拒收退回", "Refused and returned"),
    "signed_accepted": ("签收并接受", "Signed and accepted"),
    "signed_exchanged": ("签收后换货", "Signed and exchanged"),
    "unrecoverable": ("无法追回", "Unrecoverable"),
    "pickup_return_lost": ("上门退货丢失", "Lost on return pickup"),
    "accessory_damaged": ("配件损坏", "Accessory damaged"),
    "return": ("退货", "Return"),
    "refusal": ("拒收", "Refusal"),
}


# where a tracking event came from (tracking_event.source)
SOURCES: dict[str, tuple[str, str]] = {
    "kuaidi100": ("快递100", "Kuaidi100"),
    "kdniao": ("快递鸟", "Kdniao"),
    "track17": ("17TRACK", "17TRACK"),
    "spider": ("快递官网", "Courier website"),
    "push": ("推送", "Push"),
    "import": ("导入", "Import"),
    # where a recorded platform fact came from (tracker/storage/repo.py: 交易成功, 同意退货 from an import)
    "order export": ("订单导出", "Order export"),
    "returns export": ("退款导出", "Returns export"),
    "taobao": ("淘宝物流", "Taobao logistics"),
}

# what the import and the fact forms record besides (tracker/storage/repo.py, tracker/flags/facts.py)
FACT_RECORDS: dict[str, tuple[str, str]] = {
    "at": ("时间", "At"),
    "source": ("来源", "Source"),
    "locker": ("放入快递柜或驿站", "Left in a locker or station"),
    "consent": ("买家同意代收", "Buyer agreed"),
    "shipped_kg": ("发货重量(kg)", "Weight shipped (kg)"),
    "returned_kg": ("退回重量(kg)", "Weight returned (kg)"),
    "shipped_g": ("发货重量(g)", "Weight shipped (g)"),
    "returned_g": ("退回重量(g)", "Weight returned (g)"),
}

# the keys a recorded fact's data may hold (tracker/flags/facts.py), as a packet names them
FACT_DATA: dict[str, tuple[str, str]] = {
    "note": ("备注", "Note"),
    "short": ("少件", "Short"),
    "signer": ("签收人", "Signed by"),
    "warehouse_weight_kg": ("仓库称重(kg)", "Warehouse weight (kg)"),
    "courier_weight_kg": ("快递称重(kg)", "Courier weight (kg)"),
    "refund_deadline": ("退款截止", "Refund deadline"),
    "express": ("极速退款", "Express refund"),
    "agreed_at": ("同意退货时间", "Return agreed at"),
    "items_claimed": ("申请退货件数", "Items claimed"),
    "items_received": ("实收件数", "Items received"),
    "photos": ("照片", "Photos"),
    "attachments": ("附件", "Attachments"),
    "files": ("附件", "Files"),
    **FACT_RECORDS,
}

CURRENCIES: dict[str, tuple[str, str]] = {"CNY": ("人民币", "CNY")}

# a Tmall platform timer (tracker/rules/tmall_timers.py TimerKind), and whether it still runs at a moment
TIMERS: dict[str, tuple[str, str]] = {
    "seven_day_return": ("七天无理由退换货", "7-day no-reason return"),
    "complaint_window": ("未收到货维权可发起", "Not-received complaint window"),
    "negotiation": ("未收到货维权协商", "Not-received complaint negotiation"),
}
TIMER_STATES: dict[str, tuple[str, str]] = {
    "open": ("进行中", "Open"),
    "closed": ("已过期", "Closed"),
    "extended": ("已顺延", "Extended"),  # a negotiation moved by an amount change in its last part
}


def hours_in_words(hours: int, lang: str) -> str:
    """A span of whole hours as a person reads it: whole days past a day (3天5小时, 3 d 5 h; 3天, 3 d), hours
    below (20小时, 20 h), and under an hour as such (不到1小时, under 1 h). The next actions' {elapsed} and the
    alerts' durations read the same (the board's tables show hours as numbers: dashboard/components.Hours)."""
    if hours < 1:
        return "不到1小时" if lang == "zh" else "under 1 h"
    days, rest = divmod(hours, 24)
    if lang == "zh":
        return (f"{days}天" if days else "") + (f"{rest}小时" if rest or not days else "")
    return " ".join(part for part in (f"{days} d" if days else "", f"{rest} h" if rest or not days else "") if part)


def pick(table: Mapping[str, tuple[str, str]], code: Any, lang: str) -> str:
    """The word for `code` in `lang` ("zh" or anything else = English); an unknown code shows itself."""
    if code is None:
        return ""
    pair = table.get(str(code))
    if pair is None:
        return str(code)
    return pair[0] if lang == "zh" else pair[1]


def status_label(code: Any, lang: str) -> str:
    return pick(STATUSES, code, lang)


def kind_label(code: Any, lang: str) -> str:
    return pick(KINDS, code, lang)


def state_label(code: Any, lang: str) -> str:
    return pick(STATES, code, lang)


def severity_label(code: Any, lang: str) -> str:
    return pick(SEVERITIES, code, lang)


def fact_label(code: Any, lang: str) -> str:
    return pick(FACTS, code, lang)


def direction_label(code: Any, lang: str) -> str:
    return pick(DIRECTIONS, code, lang)


def claim_type_label(code: Any, lang: str) -> str:
    return pick(CLAIM_TYPES, code, lang)


def scenario_label(code: Any, lang: str) -> str:
    return pick(SCENARIOS, code, lang)


def source_label(code: Any, lang: str) -> str:
    return pick(SOURCES, code, lang)


def timer_label(code: Any, lang: str) -> str:
    return pick(TIMERS, code, lang)


def timer_state_label(code: Any, lang: str) -> str:
    return pick(TIMER_STATES, code, lang)


# an order awaiting its parcel has no courier yet (domain.AWAITING_COURIER)
NO_COURIER_YET = ("未发货", "Not shipped yet")


def courier_name(couriers: Mapping[str, Any], slug: str | None, lang: str) -> str:
    """The courier as people say it (中通快递 / ZTO Express) from config/couriers.toml (Settings.couriers);
    an order awaiting its parcel has none yet (未发货); an unknown slug shows itself."""
    if slug == AWAITING_COURIER:
        return NO_COURIER_YET[0] if lang == "zh" else NO_COURIER_YET[1]
    cfg = couriers.get(slug or "")
    if cfg is None:
        return slug or ""
    return cfg.name if lang == "zh" else cfg.name_en


# alert channels by type (config/alerts.toml [channels.<name>] type), and the shipped groups
CHANNEL_TYPES: dict[str, tuple[str, str]] = {
    "board": ("看板", "Board"),
    "dingtalk": ("钉钉", "DingTalk"),
    "wecom": ("企业微信", "WeCom"),
    "slack": ("Slack", "Slack"),
    "webhook": ("网络回调", "Webhook"),
    "email": ("邮件", "Email"),
}
GROUPS: dict[str, tuple[str, str]] = {
    "agents": ("客服组", "Agents"),
    "leads": ("主管组", "Leads"),
}

AUDIT_ACTIONS: dict[str, tuple[str, str]] = {
    "flag.open": ("发现异常", "Exception opened"),
    "flag.reopen": ("异常重新出现", "Exception reopened"),
    "flag.escalate": ("异常升级", "Exception escalated"),
    "flag.resolve": ("异常解决", "Exception resolved"),
    "flag.ack": ("确认异常", "Exception acknowledged"),
    "flag.assign": ("分配负责人", "Assigned"),
    "flag.note": ("添加备注", "Note added"),
    "claim.draft": ("生成理赔草稿", "Claim drafted"),
    "claim.filed": ("提交理赔", "Claim filed"),
    "claim.paid": ("登记赔付", "Payout recorded"),
    "claim.rejected": ("理赔被驳回", "Claim rejected"),
    "claim.withdrawn": ("撤回理赔", "Claim withdrawn"),
    "claim.expired": ("理赔过期", "Claim expired"),
    "claim.window_set": ("补定申请期限", "Filing window set"),
    "claim.set_input": ("补充理赔参数", "Claim inputs given"),
    "claim.recomputed": ("理赔按新数据重新计算", "Claim computed again from new data"),
    **{f"fact.{k}": (f"记录: {zh}", f"Recorded: {en}") for k, (zh, en) in FACTS.items()},
    "login": ("登录看板", "Logged in"),
    "login_failed": ("登录失败", "Login failed"),
    "import_parcels": ("导入包裹", "Parcels imported"),
    "import_stopped": ("导入中断", "Import stopped"),
}

ENTITIES: dict[str, tuple[str, str]] = {
    "flag": ("异常", "Exception"),
    "claim": ("理赔", "Claim"),
    "parcel": ("包裹", "Parcel"),
    "file": ("文件", "File"),
    "board_login": ("看板登录", "Board login"),
}

# who did it when it was not a person (tracker/flags/diff.py RULES_ACTOR, claims.service.expire_due, the facts
# an order or returns export records: tracker.importer's actor)
ACTORS: dict[str, tuple[str, str]] = {
    "rules": ("规则引擎", "Rules"),
    "claims": ("理赔定时任务", "Claims job"),
    "import": ("文件导入", "File import"),
}

# keys of an audit line's detail and of a recorded fact's data
DETAIL_KEYS: dict[str, tuple[str, str]] = {
    **FACT_RECORDS,
    "kind": ("类型", "kind"),
    "severity": ("级别", "severity"),
    "level": ("阶段", "level"),
    "from_state": ("原状态", "from"),
    "from": ("原状态", "from"),
    "state": ("状态", "state"),
    "note": ("备注", "note"),
    "to": ("分配给", "to"),
    "type": ("理赔类型", "type"),
    "scenario": ("情形", "scenario"),
    "amount": ("金额", "amount"),
    "formula": ("计算方式", "formula"),
    "reason": ("原因", "reason"),
    "reference_no": ("理赔单号", "reference"),
    "paid_amount": ("赔付金额", "paid"),
    "paid_at": ("赔付时间", "paid at"),
    "fact_id": ("记录编号", "record"),
    "waybill": ("运单号", "waybill"),
    "short": ("少件", "short"),
    "signer": ("签收人", "signer"),
    "warehouse_weight_kg": ("仓库称重(kg)", "warehouse weight (kg)"),
    "courier_weight_kg": ("快递称重(kg)", "courier weight (kg)"),
    "refund_deadline": ("退款截止", "refund deadline"),
    "express": ("极速退款", "express refund"),
    "agreed_at": ("同意时间", "agreed at"),
    "items_claimed": ("申报件数", "items claimed"),
    "items_received": ("实收件数", "items received"),
    "expected": ("应赔金额", "expected"),
    "differs": ("与应赔不符", "differs"),
    "address": ("来源地址", "address"),
    "locked_until": ("锁定至", "locked until"),
    "file": ("文件", "file"),
    "rows": ("行数", "rows"),
    "inserted": ("新增", "inserted"),
    "updated": ("更新", "updated"),
    "unchanged": ("未变", "unchanged"),
    "rejected_rows": ("拒绝行数", "rejected rows"),
    "return_cases": ("退货记录", "return cases"),
    "parcels_stored": ("已保存包裹", "parcels stored"),
    "filing_opens_at": ("可申请日期", "filing opens"),
    "filing_closes_at": ("申请截止", "filing closes"),
    "inputs": ("补充的参数", "inputs given"),  # claims set-input; each input named as the formula names it
    "table_version": ("理赔表版本", "claim table"),
}

# fixed phrases the code writes into an audit detail (claims.service.expire_due)
PHRASES: dict[str, tuple[str, str]] = {
    "filing window closed unfiled": ("申请期限已过, 未提交", "filing window closed unfiled"),
}

ROLES: dict[str, tuple[str, str]] = {"lead": ("主管", "lead"), "agent": ("客服", "agent")}

BOOLEANS: dict[bool, tuple[str, str]] = {True: ("是", "yes"), False: ("否", "no")}

# the rows of `tracker workers` (tracker/commands/worker.py names its "what" column with these)
WORKER_ROWS: dict[str, tuple[str, str]] = {
    "due": ("待查询", "Due to poll"),
    "leased": ("查询中(已领取)", "Leased"),
    "paused": ("已暂停的数据源", "Paused"),
    "quota": ("今日额度", "Quota today"),
    "pushes": ("推送订阅", "Push subscriptions"),
    "jobs": ("任务", "Jobs"),
    "workers": ("工作进程", "Workers"),
}

# --- a cell's value in words, by its column. The board's tables (dashboard/components.py) and the CLI's
# tables and sheets (tracker/sheets.py cli_columns) call value_label for every cell: no listing forgets a code.

# A parcel's provider error the tracker writes itself (stored in Chinese, shown in the board's language): its
# provider refuses the courier without the consignee phone's last 4 digits and the parcel has none
# (tracker/poller.py, config/couriers.toml needs_phone)
PHONE_MISSING = "缺少收件人或寄件人手机后4位，该快递不给查询：请在导入文件里补上联系手机后重新导入"
PROVIDER_ERRORS: dict[str, tuple[str, str]] = {
    PHONE_MISSING: (
        PHONE_MISSING,
        "The consignee's or sender's phone's last 4 digits are missing and this courier is not tracked without "
        "them: add the phone to the import file and import it again",
    ),
}

_FLAG_AND_FACTS = {**KINDS, **FACTS}
VALUE_TABLES: dict[str, dict[str, tuple[str, str]]] = {
    "kind": _FLAG_AND_FACTS,
    "fact_kind": FACTS,
    "state": STATES,
    "from_state": STATES,
    "from": STATES,
    "to_state": STATES,
    "severity": SEVERITIES,
    "status": STATUSES,
    "stored_status": STATUSES,
    "read_status": STATUSES,
    "claim_type": CLAIM_TYPES,
    "type": CLAIM_TYPES,
    "scenario": SCENARIOS,
    "direction": DIRECTIONS,
    "action": AUDIT_ACTIONS,
    "entity": ENTITIES,
    "actor": ACTORS,
    "recorded_by": ACTORS,  # a fact's
    "recipient": GROUPS,
    "reason": PHRASES,
    "role": ROLES,
}


def _level(value: str, lang: str) -> str:
    """An alert level: warn | escalate | digest | step<n>, with /r<n> for a reminder, /message for a ladder step's
    message to the buyer sent before its call (tracker.alerts.planning.MESSAGE)."""
    base, _, reminder = value.partition("/r")
    base, message_first, _ = base.partition("/message")
    if base.startswith("step") and base[4:].isdigit():
        text = f"第 {base[4:]} 步" if lang == "zh" else f"Step {base[4:]}"
        if message_first:
            text += " (先发消息)" if lang == "zh" else " (message first)"
    elif base == "digest":
        text = "每日汇总" if lang == "zh" else "Daily digest"
    else:
        text = pick(SEVERITIES, base, lang)
    if reminder.isdigit():
        text += f" (第 {reminder} 次催办)" if lang == "zh" else f" (reminder {reminder})"
    return text


def _channel(value: str, lang: str) -> str:
    """An alert channel by its config name: its type's word, and the group it is for (dingtalk_agents)."""
    if value in CHANNEL_TYPES:
        return pick(CHANNEL_TYPES, value, lang)
    kind, _, group = value.partition("_")
    if kind in CHANNEL_TYPES:
        word = pick(CHANNEL_TYPES, kind, lang)
        return f"{word} · {pick(GROUPS, group, lang)}" if group else word
    return value


def _source(value: str, lang: str) -> str:
    if value in SOURCES:
        return pick(SOURCES, value, lang)
    from tracker.subscriptions import provider_name

    return provider_name(value, lang)


def _mapping(value: dict, lang: str) -> str:  # type: ignore[type-arg]
    """An audit detail or a fact's data: each key in words, each value through value_label by its key."""
    parts = []
    for key, item in value.items():
        if item is None or item == "":
            continue
        if key == "kind" and item in FACTS:
            words = pick(FACTS, item, lang)
        elif isinstance(item, dict):  # a detail inside the detail (a claim's inputs): its own separators
            words = ", ".join(f"{_key_words(k, lang)} {value_label(k, v, lang)}" for k, v in item.items())
        else:
            words = value_label(key, item, lang)
        parts.append(f"{_key_words(key, lang)}: {words}")
    return "; ".join(parts)


def _key_words(key: str, lang: str) -> str:
    """An audit detail's key in words; a claim's input (forward_freight) as the claim's formula names it."""
    if key in DETAIL_KEYS:
        return pick(DETAIL_KEYS, key, lang)
    from claims.formula import NAMES, input_label

    return input_label(key, lang) if key in NAMES else key


def value_label(column: str, value: object, lang: str) -> str:
    """A cell's value as a person reads it: codes of the column's domain in words, booleans as 是/否,
    None as empty; anything else as text. Couriers are named by courier_name, with the configured couriers
    the caller holds (config/couriers.toml)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return BOOLEANS[value][0 if lang == "zh" else 1]
    if isinstance(value, dict):
        return _mapping(value, lang)
    if not isinstance(value, str):
        return str(value)
    if column == "level":
        return _level(value, lang)
    if column == "channel":
        return _channel(value, lang)
    if column == "source":
        return _source(value, lang)
    if column == "formula":
        from claims.formula import show

        return show(value, lang)
    if column == "error":
        return alert_error(value, lang)
    if column == "provider_error":
        return provider_answer(value, lang)
    table = VALUE_TABLES.get(column)
    return pick(table, value, lang) if table is not None else value


def provider_answer(text: str, lang: str, *, named: bool = True) -> str:
    """A parcel's provider error or a subscription's message in the reader's words: the tracker's own
    (PROVIDER_ERRORS), else a provider's coded answer read by that provider (tracker/providers/messages.py), after
    the provider's name unless `named` is false."""
    if text in PROVIDER_ERRORS:
        return pick(PROVIDER_ERRORS, text, lang)
    from tracker.providers.messages import in_words  # the providers import the labels' tables: read when called

    return in_words(text, lang, named=named)


# why an alert failed or was cancelled (alert.error, as tracker/alerts/channels.py and store.py word it, in
# English for the log): the reason in the reader's words, what the receiver answered quoted as it came
ALERT_ERRORS: tuple[tuple[re.Pattern[str], str, str], ...] = tuple(
    (re.compile(pattern, re.S), zh, en)
    for pattern, zh, en in (
        (r"environment variable (\S+) \((.*)\) is not set", "渠道未配置: 环境变量 {0} ({1}) 未设置",
         "Channel not set up: environment variable {0} ({1}) is not set"),
        (r"HTTP (\d+): (.*)", "接收方返回 HTTP {0}: {1}", "The receiver answered HTTP {0}: {1}"),
        (r"errcode (\S+): (.*)", "机器人返回错误码 {0}: {1}", "The robot answered error {0}: {1}"),
        (r"not JSON: (.*)", "接收方的回复无法识别: {0}", "The receiver's answer was not understood: {0}"),
        (r"bad webhook URL: (.*)", "网络回调地址无效: {0}", "Bad webhook URL: {0}"),
        (r"recipients refused: (.*)", "收件人被邮件服务器拒收: {0}", "Recipients refused by the mail server: {0}"),
        (r"SMTP (\d+): (.*)", "邮件服务器返回 {0}: {1}", "The mail server answered {0}: {1}"),
        (r"flag no longer open", "异常已不在待处理状态, 提醒已取消", "The exception is no longer open: cancelled"),
        (r"channel or group removed from alerts\.toml", "渠道或组已从 alerts.toml 移除, 提醒已取消",
         "Channel or group removed from alerts.toml: cancelled"),
        # the network between here and the receiver (httpx's transport errors, the socket's, SMTP's connection)
        (r"(ConnectError|ConnectTimeout|ReadTimeout|WriteTimeout|PoolTimeout|TimeoutException|ReadError|WriteError"
         r"|NetworkError|RemoteProtocolError|LocalProtocolError|ProxyError|SSLError|SSLCertVerificationError"
         r"|TimeoutError|ConnectionRefusedError|ConnectionResetError|ConnectionAbortedError|BrokenPipeError"
         r"|gaierror|OSError|SMTPServerDisconnected|SMTPConnectError)\b.*", "连接接收方失败 ({0})",
         "Could not reach the receiver ({0})"),
        # a channel's URL without http(s):// (a setup mistake)
        (r"UnsupportedProtocol: (.*)", "渠道地址无效: {0}", "Bad channel URL: {0}"),
    )
)  # fmt: skip


# what a channel setting a missing environment variable holds (tracker/alerts/channels.py _env's `what`)
ALERT_SETTINGS: dict[str, tuple[str, str]] = {
    "webhook URL": ("回调地址", "webhook URL"),
    "robot secret": ("机器人密钥", "robot secret"),
    "SMTP user": ("邮件账号", "SMTP user"),
    "SMTP password": ("邮件密码", "SMTP password"),
}


def alert_error(error: str, lang: str) -> str:
    """An alert's stored failure in the reader's words; a fault in the tracker itself (a Python exception: KeyError:
    ...) as the one line the board gives any fault, its details in the server's log; anything else as it came."""
    for pattern, zh, en in ALERT_ERRORS:
        found = pattern.fullmatch(error.strip())
        if found:
            # a setting named in words; a mail server's reply an older version stored as bytes (b'...') unwrapped
            parts = [pick(ALERT_SETTINGS, g, lang) if g in ALERT_SETTINGS else _unbytes(g) for g in found.groups()]
            return (zh if lang == "zh" else en).format(*parts)
    if _PYTHON_FAULT.match(error):
        return (
            "发送出错, 详情已记录到服务器日志" if lang == "zh" else "Sending failed; the details are in the server log"
        )
    return error


_PYTHON_FAULT = re.compile(r"[A-Za-z_.]*(Error|Exception|Warning)\b")


def _unbytes(text: str | None) -> str | None:
    """b'5.1.1 mailbox unavailable' -> 5.1.1 mailbox unavailable (a bytes repr stored by an older version)."""
    if text and len(text) > 2 and text[:2] in ("b'", 'b"') and text[-1] == text[1]:
        return text[2:-1]
    return text


def amount_in(value: object, currency: str) -> str:
    """An amount in a currency other than the board's and the packets' yuan: 500.00 HKD (never under ¥)."""
    return f"{value:,.2f} {currency}"
