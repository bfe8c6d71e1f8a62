"""Board labels in Chinese (default) and English: one table, `t(key, lang)`; a missing key shows itself."""

from __future__ import annotations

LANGS = ("zh", "en")

# key: (中文, English)
LABELS: dict[str, tuple[str, str]] = {
    "app_title": ("物流异常看板", "Parcel exceptions board"),
    "language": ("语言", "Language"),
    "nav_overview": ("总览", "Overview"),
    "nav_queue": ("异常队列", "Exception queue"),
    "nav_parcel": ("包裹详情", "Parcel"),
    "nav_claims": ("理赔台账", "Claims ledger"),
    "nav_scorecards": ("快递评分", "Courier scorecards"),
    "nav_alerts": ("提醒记录", "Alerts log"),
    "search": ("运单号 / 订单号", "Waybill / order no."),
    "search_button": ("查询", "Search"),
    "not_found": ("没有找到包裹", "No parcel found"),
    "login": ("登录", "Log in"),
    "logout": ("退出", "Log out"),
    "user": ("用户名", "User"),
    "password": ("密码", "Password"),
    "bad_login": ("用户名或密码错误", "Wrong user name or password"),
    "signed_in_as": ("当前用户", "Signed in as"),
    "no_users": (
        "尚未配置用户:运行 `tracker board add-user 姓名 --role lead`",
        "No users configured: run `tracker board add-user NAME --role lead`",
    ),
    # overview
    "open_by_kind": ("未处理异常(按类型)", "Open exceptions by kind"),
    "open_by_courier": ("未处理异常(按快递)", "Open exceptions by courier"),
    "open_total": ("未处理异常", "Open exceptions"),
    "ageing": ("距上次更新的小时数", "Hours since last update"),
    "stale_soon": ("24小时内将超时未更新", "Turning stale in the next 24 h"),
    "claimable": ("可索赔金额(草稿)", "Claimable (draft claims)"),
    "deadlines": ("3天内截止的理赔", "Claim deadlines in the next days"),
    "alerts_today": ("今日已发提醒", "Alerts sent today"),
    "alerts_failed_today": ("今日发送失败", "Alerts failed today"),
    "open_queue": ("查看队列", "Open queue"),
    "none": ("无", "None"),
    # queue
    "kind": ("异常类型", "Kind"),
    "courier": ("快递", "Courier"),
    "shop": ("店铺", "Shop"),
    "region": ("省份", "Province"),
    "min_age": ("最少未更新小时", "Min. hours since update"),
    "assignee": ("负责人", "Assignee"),
    "state": ("状态", "State"),
    "sort": ("排序", "Sort"),
    "any": ("全部", "Any"),
    "nobody": ("未分配", "Unassigned"),
    "unresolved": ("未解决", "Unresolved"),
    "page": ("页", "Page"),
    "rows_found": ("共 {n} 条", "{n} rows"),
    "select": ("选择", "Select"),
    "bulk_actions": ("批量操作", "Bulk actions"),
    "note": ("备注", "Note"),
    "assign_to": ("分配给", "Assign to"),
    "ack": ("确认", "Acknowledge"),
    "assign": ("分配", "Assign"),
    "add_note": ("添加备注", "Add note"),
    "resolve": ("解决", "Resolve"),
    "open_claims": ("发起理赔", "Open claims"),
    "select_rows_first": ("请先选择行", "Select rows first"),
    "done_n": ("已处理 {n} 条", "Done: {n}"),
    "failed": ("失败", "Failed"),
    "next_action": ("下一步", "Next action"),
    "waybill": ("运单号", "Waybill"),
    "order_id": ("订单号", "Order"),
    "severity": ("级别", "Severity"),
    "status": ("物流状态", "Status"),
    "last_update": ("最后更新", "Last update"),
    "opened_at": ("发现时间", "Opened"),
    "sort_escalated": ("升级优先", "Escalated first"),
    "sort_newest": ("最新", "Newest"),
    "sort_oldest": ("最早", "Oldest"),
    "sort_last_update": ("最久未更新", "Longest without update"),
    "sort_courier": ("按快递", "By courier"),
    # parcel
    "facts": ("包裹信息", "Facts"),
    "timeline": ("物流轨迹", "Timeline"),
    "flags": ("异常记录", "Flags"),
    "claims": ("理赔", "Claims"),
    "alerts": ("提醒", "Alerts"),
    "audit": ("操作记录", "Audit trail"),
    "choose_parcel": ("在左侧输入运单号或订单号", "Enter a waybill or order number in the sidebar"),
    "time": ("时间", "Time"),
    "text": ("快递描述", "Courier text"),
    "location": ("地点", "Location"),
    # claims
    "by_state": ("按状态", "By state"),
    "amount": ("金额", "Amount"),
    "formula": ("计算方式", "Formula"),
    "window": ("申请期限", "Filing window"),
    "days_left": ("剩余天数", "Days left"),
    "reference_no": ("理赔单号", "Reference no."),
    "paid_amount": ("赔付金额", "Paid amount"),
    "paid_on": ("赔付日期", "Paid on"),
    "reason": ("原因", "Reason"),
    "file": ("提交理赔", "File"),
    "record_payout": ("登记赔付", "Record payout"),
    "reject": ("驳回", "Reject"),
    "withdraw": ("撤回", "Withdraw"),
    "export_xlsx": ("导出理赔材料 (XLSX)", "Export packets (XLSX)"),
    "reconciliation": ("按快递对账", "Reconciliation by courier"),
    "claim_type": ("理赔类型", "Claim type"),
    "select_one": ("请只选择一条", "Select exactly one row"),
    # scorecards
    "period_from": ("发货日期从", "Shipped from"),
    "period_to": ("至", "to"),
    "parcels": ("包裹数", "Parcels"),
    "exception_rate": ("异常率", "Exception rate"),
    "stale_rate": ("超时未更新率", "Stale rate"),
    "median_transit": ("中位运输时长(小时)", "Median transit (h)"),
    "claims_filed": ("已提交理赔", "Claims filed"),
    "recovered": ("已追回金额", "Recovered"),
    # alerts
    "channel": ("渠道", "Channel"),
    "recipient": ("接收人", "Recipient"),
    "subject": ("标题", "Subject"),
    "sent_at": ("发送时间", "Sent at"),
    "error": ("错误", "Error"),
    "created_at": ("创建时间", "Created"),
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

STATES: dict[str, tuple[str, str]] = {
    "open": ("待处理", "open"),
    "acknowledged": ("已确认", "acknowledged"),
    "resolved": ("已解决", "resolved"),
    "draft": ("草稿", "draft"),
    "needs_config": ("缺参数", "needs config"),
    "filed": ("已提交", "filed"),
    "paid": ("已赔付", "paid"),
    "rejected": ("已驳回", "rejected"),
    "expired": ("已过期", "expired"),
    "withdrawn": ("已撤回", "withdrawn"),
    "pending": ("待发送", "pending"),
    "held": ("暂缓", "held"),
    "sent": ("已发送", "sent"),
    "failed": ("失败", "failed"),
    "cancelled": ("已取消", "cancelled"),
    "warn": ("提醒", "warn"),
    "escalate": ("升级", "escalate"),
}


def _pick(table: dict[str, tuple[str, str]], key: str, lang: str) -> str:
    pair = table.get(key)
    if pair is None:
        return key
    return pair[0] if lang == "zh" else pair[1]


def t(key: str, lang: str, **kw: object) -> str:
    text = _pick(LABELS, key, lang)
    return text.format(**kw) if kw else text


def kind_label(kind: str, lang: str) -> str:
    return _pick(KINDS, kind, lang)


def state_label(state: str, lang: str) -> str:
    return _pick(STATES, state, lang)
