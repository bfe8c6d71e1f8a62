"""Board labels in Chinese (default) and English: one table, `t(key, lang)`; a missing key shows itself."""

from __future__ import annotations

from tracker import labels

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
    "page_failed": (
        "页面出错 ({error}), 已记录到服务器日志",
        "This page failed ({error}); the details are in the server log",
    ),
    "bad_param": ("链接参数 {param}={value} 无效, 已忽略: {reason}", "URL parameter {param}={value} ignored: {reason}"),
    "param_int": ("应为 0 到 {limit} 之间的整数", "expected a whole number from 0 to {limit}"),
    "param_choice": ("不是已知的取值", "not a known value"),
    "param_text": (
        "过长 (最多 {limit} 个字符) 或含控制字符",
        "too long (at most {limit} characters) or has control characters",
    ),
    "locked_out": ("登录失败次数过多, 请 {minutes} 分钟后再试", "Too many failed logins: try again in {minutes} min"),
    "failed_logins": ("近24小时登录失败", "Failed logins (last 24 h)"),
    "login_name": ("输入的用户名", "Name typed"),
    "address": ("来源地址", "Address"),
    "locked_until": ("锁定至", "Locked until"),
    "signed_in_as": ("当前用户", "Signed in as"),
    "no_users": (
        "尚未配置用户:运行 `tracker board add-user 姓名 --role lead`",
        "No users configured: run `tracker board add-user NAME --role lead`",
    ),
    # overview
    "open_by_kind": ("未处理异常(条), 按类型", "Open exceptions by kind"),
    "open_by_courier": ("未处理异常(条), 按快递", "Open exceptions by courier"),
    "open_total": ("未处理异常(条)", "Open exceptions"),
    "on_parcels": ("涉及 {n} 个包裹", "on {n} parcels"),
    "exceptions_n": ("异常(条)", "Exceptions"),
    "claims_n": ("{n} 件理赔", "{n} claims"),
    "ageing": (
        "未处理异常(条), 按包裹距上次更新的小时数",
        "Open exceptions by hours since the parcel's last update",
    ),
    "age_hours": ("距上次更新(小时)", "Hours since last update"),
    "stale_soon": ("24小时内将超时未更新(包裹)", "Parcels turning stale in the next 24 h"),
    "claimable": ("可索赔金额(草稿, 申报期未过)", "Claimable (drafts still in their filing window)"),
    "deadlines": ("3天内截止的理赔", "Claim deadlines in the next days"),
    "alerts_today": ("今日已发提醒", "Alerts sent today"),
    "alerts_failed_today": ("今日发送失败", "Alerts failed today"),
    "polling": ("查询进度", "Polling"),
    "polling_line": (
        "待查询 {due} 个包裹 · 正在查询 {leased} 个(工作进程 {workers} 个)",
        "{due} parcels due · {leased} being polled by {workers} worker(s)",
    ),
    "paused_until": (
        "{provider} 暂停查询至 {until}(接口连续失败)",
        "{provider} paused until {until} (repeated failures)",
    ),
    "open_queue": ("查看队列", "Open queue"),
    "open_list": ("查看包裹", "Open the list"),
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
    "select_placeholder": ("选择本页的行", "Choose rows on this page"),
    "bulk_actions": ("批量操作", "Bulk actions"),
    "note": ("备注", "Note"),
    "assign_to": ("分配给", "Assign to"),
    "ack": ("确认", "Acknowledge"),
    "assign": ("分配", "Assign"),
    "add_note": ("添加备注", "Add note"),
    "resolve": ("解决", "Resolve"),
    "open_claims": ("发起理赔", "Open claims"),
    "select_rows_first": ("请先在表格中勾选行", "Tick rows in the table first"),
    "tick_rows": ("在表格左侧勾选要处理的行", "Tick the rows to act on at the table's left"),
    "ticked_n": ("已勾选 {n} 条", "{n} ticked"),
    "confirm_bulk": (
        "确认对以下 {n} 个运单执行「{action}」: {waybills}",
        "Confirm “{action}” for these {n} waybills: {waybills}",
    ),
    "confirm": ("确认执行", "Confirm"),
    "cancel": ("取消", "Cancel"),
    "done_n": ("已处理 {n} 条", "Done: {n}"),
    "failed": ("失败", "Failed"),
    "next_action": ("下一步", "Next action"),
    "waybill": ("运单号", "Waybill"),
    "order_id": ("订单号", "Order"),
    "severity": ("级别", "Severity"),
    "status": ("物流状态", "Status"),
    "last_update": ("最后更新", "Last update"),
    "stale_at": ("将超时于", "Turns stale at"),
    "below_age": ("且距上次更新不足 {hours} 小时", "and updated less than {hours} h ago"),
    "opened_at": ("发现时间", "Opened"),
    "sort_escalated": ("升级优先", "Escalated first"),
    "sort_newest": ("最新", "Newest"),
    "sort_oldest": ("最早", "Oldest"),
    "sort_last_update": ("最久未更新", "Longest without update"),
    "sort_courier": ("按快递", "By courier"),
    # parcel
    "facts": ("包裹信息", "Facts"),
    "timeline": ("物流轨迹", "Timeline"),
    "return_buyers": ("同一退货单号的买家", "Buyers who gave this return waybill"),
    "buyer_id": ("买家", "Buyer"),
    "first_seen_at": ("首次记录", "First recorded"),
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
    "exception_rate": ("异常率(有异常的包裹÷发货包裹)", "Exception rate (parcels with an exception ÷ shipped)"),
    "kind_rates": ("各类异常率(包裹)", "Rate by kind (parcels)"),
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
    # column headers
    "id": ("编号", "ID"),
    "flag_id": ("异常编号", "Flag"),
    "field": ("项目", "Field"),
    "value": ("内容", "Value"),
    "direction": ("方向", "Direction"),
    "province": ("省份", "Province"),
    "city": ("城市", "City"),
    "goods_value": ("货值", "Goods value"),
    "paid_at": ("付款时间", "Paid"),
    "shipped_at": ("发货时间", "Shipped"),
    "first_scan_at": ("揽收时间", "First scan"),
    "last_event_at": ("最后轨迹时间", "Last event"),
    "delivered_at": ("签收时间", "Delivered"),
    "refund_deadline": ("退款截止", "Refund deadline"),
    "provider_error": ("查询错误", "Provider error"),
    "push_subscription": ("推送订阅", "Push subscription"),
    "recorded_at": ("记录时间", "Recorded"),
    "recorded_by": ("记录人", "Recorded by"),
    "data": ("数据", "Data"),
    "event_time": ("时间", "Time"),
    "raw_code": ("原始代码", "Raw code"),
    "source": ("来源", "Source"),
    "escalated_at": ("升级时间", "Escalated"),
    "resolved_at": ("解决时间", "Resolved"),
    "filing_closes_at": ("申请截止", "Filing closes"),
    "filed": ("已提交", "Filed"),
    "paid": ("已赔付", "Paid"),
    "rejected": ("已驳回", "Rejected"),
    "claimed_amount": ("索赔金额", "Claimed"),
    "short_paid": ("少赔金额", "Short paid"),
    "reject_reason": ("驳回原因", "Reject reason"),
    "level": ("级别", "Level"),
    "attempts": ("尝试次数", "Attempts"),
    "at": ("时间", "At"),
    "actor": ("操作人", "By"),
    "action": ("操作", "Action"),
    "entity": ("对象", "Entity"),
    "entity_id": ("对象编号", "Entity ID"),
    "detail": ("详情", "Detail"),
    # exports part (issue 15 item 7): whole-set XLSX exports of the queue and the ledger
    "export_queue": ("导出全部筛选结果 (XLSX)", "Export all filtered rows (XLSX)"),
    "export_ledger": ("导出理赔台账 (XLSX)", "Export the ledger (XLSX)"),
    "export_notes": ("说明", "Notes"),
    "export_made": ("导出时间: {at}", "Exported at {at}"),
    "export_rows": ("导出行数: {n}", "Rows exported: {n}"),
    "export_cut": (
        "共 {n} 条, 超过导出上限, 只导出前 {limit} 条; 请缩小筛选范围",
        "{n} rows match, more than the export limit: only the first {limit} are exported; narrow the filters",
    ),
    "export_filters": ("筛选条件", "Filters"),
    "scenario": ("情形", "Scenario"),
    "filing_opens_at": ("可申请日期", "Filing opens"),
    "filed_at": ("提交日期", "Filed on"),
    "missing": ("缺少参数", "Missing inputs"),
}

# exports part (issue 15 item 7): the kinds and states live in tracker/labels.py, the one table the board,
# claim packets and XLSX exports share (a state is called the same on the board and in a packet)
KINDS = labels.KINDS
STATES = labels.STATES


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
