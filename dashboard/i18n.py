"""Board labels in Chinese (default) and English: one table, `t(key, lang)`; a missing key shows itself."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from claims.formula import input_label

# the words of the codes (and value_label, a cell's value in words) are tracker.labels', shared with the CLI,
# the alerts and the packets; re-exported under the board's names
from tracker.labels import (
    ACTORS,
    AUDIT_ACTIONS,
    BOOLEANS,
    CHANNEL_TYPES,
    CLAIM_TYPES,
    DETAIL_KEYS,
    DIRECTIONS,
    ENTITIES,
    GROUPS,
    KINDS,
    PHRASES,
    ROLES,
    SCENARIOS,
    SEVERITIES,
    SOURCES,
    STATES,
    STATUSES,
    VALUE_TABLES,
    kind_label,
    pick,
    severity_label,
    state_label,
    value_label,
)
from tracker.labels import FACTS as FACT_KINDS
from tracker.sheets import local_times

__all__ = [
    "ACTORS", "AUDIT_ACTIONS", "BOOLEANS", "CHANNEL_TYPES", "CLAIM_TYPES", "DETAIL_KEYS", "DIRECTIONS", "ENTITIES",
    "FACT_KINDS", "GROUPS", "KINDS", "LABELS", "LANGS", "PHRASES", "ROLES", "SCENARIOS", "SEVERITIES", "SOURCES",
    "STATES", "STATUSES", "VALUE_TABLES", "error_text", "kind_label", "severity_label", "state_label", "t",
    "value_label",
]  # fmt: skip

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
    "claims_on_ledger": (
        "在理赔台账中处理这 {n} 件理赔 (提交、赔付、撤回)",
        "Work these {n} claims on the ledger (file, record a payout, withdraw)",
    ),
    "not_found_for": ("没有找到「{text}」的包裹", "No parcel found for “{text}”"),
    "login": ("登录", "Log in"),
    "logout": ("退出", "Log out"),
    "user": ("用户名", "User"),
    "password": ("密码", "Password"),
    "bad_login": ("用户名或密码错误", "Wrong user name or password"),
    "kg_format": (
        "{field}: 应填千克数, 如 1.25 (填的是 {value})",
        "{field}: expected a weight in kg such as 1.25, got {value}",
    ),
    "page_failed": (
        "页面出错, 详情已记录到服务器日志",
        "This page failed; the details are in the server log",
    ),
    "bad_param": ("链接参数 {param}={value} 无效, 已忽略: {reason}", "URL parameter {param}={value} ignored: {reason}"),
    "param_int": ("应为 0 到 {limit} 之间的整数", "expected a whole number from 0 to {limit}"),
    "param_choice": ("不是已知的取值", "not a known value"),
    "param_day": ("应为 1900 到 9998 年间的日期，如 2026-11-01", "expected a day from 1900 to 9998 such as 2026-11-01"),
    "param_day_order": ("早于起始日期", "before the first day"),
    "param_not_here": ("此列表不按它筛选", "this list is not filtered by it"),
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
    # over every claim still to file (缺参数 too, which the claimable money above it leaves out)
    "soonest_deadline": (
        "待提交理赔最早截止: 剩 {n} 天 · {waybill}",
        "Soonest claim to file: {n} days left · {waybill}",
    ),
    "closing_soon": ("{n} 件理赔 {days} 天内截止, 待提交", "{n} claims to file closing within {days} days"),
    "ov_tab_kinds": ("按类型", "By kind"),
    "ov_tab_couriers": ("按快递", "By courier"),
    "ov_tab_ageing": ("时效与趋势", "Ageing and trend"),
    "ov_tab_claims": ("理赔期限与金额", "Claim deadlines and money"),
    "sc_tab_rates": ("异常率", "Exception rates"),
    "sc_tab_transit": ("运输时长", "Transit times"),
    "sc_tab_recovered": ("追回金额", "Money recovered"),
    "on_parcels": ("涉及 {n} 个包裹", "on {n} parcels"),
    "exceptions_n": ("异常(条)", "Exceptions"),
    "claims_n": ("{n} 件理赔", "{n} claims"),
    "ageing": (
        "未处理异常(条), 按包裹距上次更新的小时数",
        "Open exceptions by hours since the parcel's last update",
    ),
    "age_hours": ("距上次更新(小时)", "Hours since last update"),
    "stale_soon": ("24小时内将超时未更新(包裹)", "Parcels turning stale in the next 24 h"),
    "claimable": ("可索赔金额(草稿, 申报期未过)", "Claimable (drafts in their window)"),
    "deadlines": ("3天内截止的理赔", "Claim deadlines in the next days"),
    "alerts_today": ("今日已发提醒", "Alerts sent today"),
    "alerts_of_today": ("只看今天", "Today only"),  # the alert log: the day the overview's figures count
    "alerts_list": ("查看这些提醒", "Open these alerts"),
    "alerts_failed_list": ("查看今日失败 {n} 条", "Today's {n} failed"),
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
    "claimable_list": ("查看这 {n} 件理赔", "Open these {n} claims"),
    "state_list": ("只看这些", "Only these"),
    "open_parcels_list": ("查看这 {n} 个包裹", "See these {n} parcels"),
    "open_parcels_title": ("有未处理异常的包裹", "Parcels with unresolved exceptions"),
    "open_parcels_note": (
        "每个包裹一行(一个包裹可有多个异常);最久未更新的在前",
        "One row per parcel (a parcel may have several exceptions); the longest without an update first",
    ),
    "kinds": ("异常", "Exceptions"),
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
    "confirm_bulk": (  # n: the rows ticked (two exceptions of one parcel are two), then their waybills
        "确认对 {n} 项执行「{action}」, 运单: {waybills}",
        "Confirm “{action}” for {n} item(s), waybills: {waybills}",
    ),
    "confirm": ("确认执行", "Confirm"),
    "cancel": ("取消", "Cancel"),
    "done_n": ("已处理 {n} 条", "Done: {n}"),
    "nothing_new": ("已有, 未重复创建: {names}", "Already there, nothing new: {names}"),
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
    "window_unknown": (
        "未知: 缺少下单/下发时间, 请核对快递的理赔期限 (导入订单后, 下次生成理赔时补定)",
        "Unknown: the order or release time is missing; check the courier's deadline "
        "(set when claims are next proposed, once the order is imported)",
    ),
    "days_left_n": ("剩 {n} 天", "{n} days left"),
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
    "exception_rate": (
        "异常率(快递环节出过异常的包裹÷发货包裹)",
        "Exception rate (parcels with an exception in the courier's hands ÷ shipped)",
    ),
    "kind_rates": ("快递环节各类异常率(包裹)", "Rate by kind, in the courier's hands (parcels)"),
    "stale_rate": ("超时未更新率", "Stale rate"),
    "median_transit": ("中位运输时长", "Median transit"),
    "median_transit_hours": ("中位运输时长(小时)", "Median transit (h)"),
    "period_line": (
        "{start} 至 {end} 发货的包裹 (筛选中可改)",
        "Parcels shipped {start} to {end} (change it under the filters)",
    ),
    "claims_filed": ("已提交理赔", "Claims filed"),
    "recovered": ("已追回金额", "Recovered"),
    # alerts
    "channel": ("渠道", "Channel"),
    "recipient": ("接收人", "Recipient"),
    "subject": ("标题", "Subject"),
    "sent_at": ("发送时间", "Sent at"),
    "next_due_at": ("计划发送", "Goes at"),
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
    "supplier_value": ("供货商货值", "Supplier value"),
    "forward_freight": ("正向运费", "Forward freight"),
    "return_freight": ("逆向运费", "Reverse freight"),
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
    "filed_in_all": ("累计提交", "Filed in all"),  # reconciliation: still filed, paid and rejected together
    "paid": ("已赔付", "Paid"),
    "rejected": ("已驳回", "Rejected"),
    "claimed_amount": ("索赔金额", "Claimed"),
    "short_paid": ("少赔金额", "Short paid"),
    "over_paid": ("多赔金额", "Overpaid"),
    "amount_format": ("请填写金额, 如 1899.00, 最多两位小数", "an amount such as 1899.00, two decimals at most"),
    "reject_reason": ("驳回原因", "Reject reason"),
    "level": ("级别", "Level"),
    "attempts": ("尝试次数", "Attempts"),
    "at": ("时间", "At"),
    "actor": ("操作人", "By"),
    "action": ("操作", "Action"),
    "entity": ("对象", "Entity"),
    "entity_id": ("对象编号", "Entity ID"),
    "detail": ("详情", "Detail"),
    # --- seeds (issue 16): the platform timers, the fact forms, the fact kinds they record ---
    "platform_timers": ("平台时限", "Platform deadlines"),
    "no_timers": (
        "暂无平台时限(需签收时间、交易成功或维权记录)",
        "No platform deadline yet (needs the signing time, trade success or a complaint)",
    ),
    "timer": ("时限", "Deadline"),
    "timer_from": ("起算", "From"),
    "timer_until": ("截止(含)", "Until (inclusive)"),
    "timer_state": ("状态", "State"),
    "timer_left": ("剩余", "Left"),
    "timer_left_n": ("剩余 {days} 天 {hours} 小时", "{days} d {hours} h left"),
    "platform_deadline": ("平台时限", "Platform deadline"),
    "scope_line": ("只列出：{scope}", "Listed only: {scope}"),
    "scope_filed": (
        "已向快递提交的索赔（之后无论结果如何）",
        "claims filed with the courier (whatever became of them)",
    ),
    "scope_shipped": ("发货日期 {start} 至 {end} 的包裹", "parcels shipped from {start} to {end}"),
    "scope_clear": ("去掉这些条件", "Drop these conditions"),
    "awaiting_parcel": (
        "已付款、等待发货的订单：还没有运单号，不查询物流；超过发货时限即为延迟发货。"
        "导入带此订单运单号的文件后，它就成为那个包裹",
        "An order paid and awaiting shipment: no waybill yet, so no tracking is asked; past its shipping deadline"
        " it is a late shipment. The file that brings this order's waybill makes it that parcel",
    ),
    # a courier scorecard's numbers as lists of parcels (the queue's ?shipped=, data.ShippedFilter)
    "shipped_all_title": ("发货的包裹", "Parcels shipped"),
    "shipped_all_note": ("评分表的“包裹数”；最近发货的在前", "The scorecard's parcels; the last shipped first"),
    "shipped_flagged_title": ("快递环节出过异常的包裹", "Parcels that had an exception in the courier's hands"),
    "shipped_flagged_note": (
        "评分表异常率的分子：快递环节出过异常的包裹，异常现在是否已解决都算（延迟发货、退款时限和买家退货的问题是店铺或买家的，不算在快递头上）；"
        "最近发货的在前",
        "What the scorecard's exception rate counts: parcels with an exception in the courier's hands, resolved since"
        " or not (late shipment, the refund deadline and the buyer's return problems are the shop's or the buyer's,"
        " not the courier's); the last shipped first",
    ),
    "shipped_stale_title": ("现在超时未更新的包裹", "Parcels stale now"),
    "shipped_stale_note": (
        "评分表的超时未更新占比：未完结、最后更新已超过超时时限、未确认丢失的包裹；最久未更新的在前",
        "What the scorecard's stale share counts: open parcels past their stale threshold, no loss confirmed; the"
        " longest without an update first",
    ),
    "action_fault": ("处理出错, 详情已记录到服务器日志", "it failed; the details are in the server log"),
    "not_tried": (
        "未处理 (数据库暂不可用, 请稍后再试): {names}",
        "not tried (the database is not available; try again later): {names}",
    ),
    "scope_parcel": ("{courier} {waybill} 这个包裹的索赔", "the claims of parcel {courier} {waybill}"),
    "scope_no_parcel": ("编号 {id} 的包裹 (没有这个包裹)", "the parcel numbered {id} (there is no such parcel)"),
    "filter_parcel": ("包裹", "Parcel"),
    "scorecard_all": ("{courier}：包裹 {n} 件", "{courier}: {n} parcels"),
    "scorecard_flagged": (
        "{courier}：快递环节出过异常 {n} 件",
        "{courier}: {n} had an exception in the courier's hands",
    ),
    "scorecard_stale": ("{courier}：超时未更新 {n} 件", "{courier}: {n} stale"),
    "scorecard_kind": ("{courier}：{kind} {n} 件", "{courier}: {kind} {n}"),
    "scorecard_lists": (
        "各快递的清单：包裹、出过异常的、超时未更新的、各异常类型的、索赔",
        "Each courier's lists: parcels, with an exception, stale, by exception kind, claims",
    ),
    "scorecard_filed": ("{courier}：已提交索赔 {n} 件", "{courier}: {n} claims filed"),
    "scorecard_recovered": ("{courier}：已追回 {amount}", "{courier}: {amount} recovered"),
    "filter_filed": ("已提交索赔", "Filed"),
    "filter_shipped_from": ("发货日期从", "Shipped from"),
    "filter_shipped_to": ("发货日期到", "Shipped to"),
    "until_short": ("截止", "due"),  # after the time: 2026-11-23 21:30 截止
    "late_exposure": (
        "若延迟发货维权成立: 赔付 {cny} 元({points} 天猫积分) = 商品价格 {price} 元的 {percent}%, 上限 {cap} 元",
        "If a late-shipment complaint succeeds: {cny} CNY ({points} Tmall points) = {percent}% of {price}, "
        "at most {cap}",
    ),
    "record_fact": ("记录情况", "Record what happened"),
    "record_more_facts": (
        "更多情况: 联系上买家、代签、退货称重、平台事件",
        "More: buyer reached, signatures, return weight, platform events",
    ),
    "record": ("记录", "Record"),
    "fact_recorded": ("已记录; 下次评估时更新异常", "Recorded; the flags update at the next evaluation"),
    "fact_reached": ("已联系上买家", "Buyer reached"),
    "fact_reached_help": (
        "联系上买家后, 之前的联系不上记录不再计入退货超时",
        "Once the buyer is reached, earlier failed attempts no longer count toward an abandoned return",
    ),
    "fact_signed": ("代签/快递柜", "Third-party signature"),
    "fact_signer": ("签收人(如 门卫)", "Signed by (for example the gatekeeper)"),
    "fact_locker": ("放入快递柜或驿站", "Put in a locker or a station"),
    "fact_consent": ("买家是否同意代签", "Did the buyer ask for it?"),
    "fact_consent_no": ("未经买家同意", "No, without the buyer's consent"),
    "fact_consent_yes": ("买家同意(如“你帮我放在某某地方吧”)", "Yes, the buyer asked for it"),
    "fact_return_weight": ("退货称重", "Return weight"),
    "fact_shipped_kg": ("发货重量(公斤, 仓库称重)", "Shipped weight (kg, warehouse scale)"),
    "fact_returned_kg": ("退货重量(公斤, 快递称重)", "Returned weight (kg, the courier's)"),
    "fact_platform": ("平台事件", "Platform event"),
    "fact_event": ("事件", "Event"),
    "fact_trade_succeeded": ("交易成功", "Trade succeeded"),
    "fact_complaint_opened": ("买家发起未收到货维权", "Buyer opened a not-received complaint"),
    "fact_complaint_amount_changed": ("买家修改维权金额", "Buyer changed the complaint amount"),
    "fact_date": ("日期(空 = 现在)", "Date (empty = now)"),
    "fact_time": ("时间", "Time"),
    # fact kinds (parcel_fact.kind) as people say them
    "fact_kind_buyer_reached": ("已联系上买家", "Buyer reached"),
    "fact_kind_signed_without_consent": ("未经同意代签", "Signed by another without consent"),
    "fact_kind_signed_with_consent": ("买家同意代签", "Signed by another at the buyer's request"),
    "fact_kind_return_weighed": ("退货称重", "Return weighed"),
    "fact_kind_trade_succeeded": ("交易成功", "Trade succeeded"),
    "fact_kind_complaint_opened": ("未收到货维权", "Not-received complaint"),
    "fact_kind_complaint_amount_changed": ("修改维权金额", "Complaint amount changed"),
    # --- end seeds ---
    # --- actions (issue 15 items 5-6): parcel page actions, search, deep links, money per courier, ledger ---
    "click_waybill": ("点击运单号打开包裹", "Click a waybill to open its parcel"),
    "click_reconciliation": (
        "点击累计提交、已赔付、已驳回的件数或索赔、赔付金额, 在台账中打开这些理赔",
        "Click a count, or the amount claimed or paid, to open those claims in the ledger",
    ),
    "matches_n": ("「{text}」匹配到 {n} 个包裹, 请选择", "{n} parcels match “{text}”: pick one"),
    "matches_first_n": (
        "「{text}」匹配到的前 {n} 个包裹, 请选择 (输入更长的单号可缩小范围)",
        "The first {n} parcels matching “{text}”: pick one (type more of the number to narrow it)",
    ),
    "fact_lost": ("快递确认丢件", "Courier confirmed the loss"),
    "fact_note_who": ("备注(如快递方确认人)", "Note (for example who at the courier confirmed it)"),
    "fact_not_received": ("买家称未收到", "Buyer says not received"),
    "fact_short": ("已收到但少件", "Arrived, but short"),
    "fact_signer_shown": ("快递显示的签收人", "Signed for by (as the courier shows)"),
    "fact_return_agreed": ("已同意退货", "Return agreed"),
    "fact_refund_deadline": ("退款截止日期", "Refund deadline"),
    "fact_express": ("极速退款", "Express refund (极速退款)"),
    "claims_to_open": ("可发起的理赔(金额按理赔表计算)", "Claims to open (amounts from the claim tables)"),
    "no_claim_to_open": ("当前异常无需发起新的理赔", "No new claim to open for the current exceptions"),
    "confirm_open_claims": (
        "确认为运单 {waybill} 发起 {n} 件理赔, 合计 {total}",
        "Confirm opening {n} claim(s) for {waybill}, {total} in all",
    ),
    "money_by_courier": ("理赔金额, 按快递", "Claim money by courier"),
    "money_claimable": ("可索赔(草稿, 申报期未过)", "Claimable (drafts in their window)"),
    "money_filed": ("已提交(索赔金额)", "Filed (amount claimed)"),
    "money_paid": ("已赔付(实付金额)", "Paid (amount paid)"),
    "money_rejected": ("已驳回(索赔金额)", "Rejected (amount claimed)"),
    "next_deadlines": (
        "最近的 {n} 个理赔截止(待提交, 最早截止在前)",
        "The next {n} claim deadlines (still to file, soonest first)",
    ),
    "open_ledger": ("查看台账", "Open the ledger"),
    "ledger_search": ("运单号 / 订单号 / 理赔单号", "Waybill / order / reference no."),
    "closes_within": ("几天内截止(待提交, 0 = 不限)", "Closing within days (to file; 0 = any)"),
    "claimable_state": ("可索赔(草稿, 申报期未过)", "Claimable (drafts in their window)"),
    "submitted_state": ("累计提交(已提交、已赔付、已驳回)", "Filed in all (still filed, paid, rejected)"),
    "inputs_by_import": (
        "也可以导入带有 {headers} 列的文件 (订单报表、ERP 成本导出或快递月结账单): "
        "下次生成理赔时, 仍缺参数的理赔按导入的数值重新计算。",
        "Or import a file with a {headers} column (an order export, an ERP cost export, a courier's monthly bill): "
        "the next claims run computes the claims still lacking it again with the imported values.",
    ),
    "give_inputs": (
        "运单 {waybill} 的理赔缺少以下参数, 填写后按其理赔表重新计算:",
        "The claim on waybill {waybill} lacks these inputs; given, it is computed again with its claim table:",
    ),
    "save_inputs": ("保存参数", "Save inputs"),
    "claims_lacking_inputs": (
        "{n} 件理赔缺参数, 补充后可索赔",
        "{n} claims lack an input: claimable once given",
    ),
    "inputs_none_given": ("请至少填写一项参数", "Fill in at least one input"),
    "inputs_complete": (
        "运单 {waybill}: 理赔金额 {amount}, 可以提交",
        "Waybill {waybill}: the claim comes to {amount}, ready to file",
    ),
    "inputs_complete_opens": (
        "运单 {waybill}: 理赔金额 {amount}, {at} 起可以提交",
        "Waybill {waybill}: the claim comes to {amount}; filing opens {at}",
    ),
    "inputs_complete_no_window": (
        "运单 {waybill}: 理赔金额 {amount}; 申请期限未知 (包裹没有订单时间)",
        "Waybill {waybill}: the claim comes to {amount}; its filing window is unknown (the parcel has no order time)",
    ),
    "inputs_configuration": (
        "这条理赔缺少的不是单条理赔的参数: {missing}; 在 config/claims/contracts.toml 配置合同比例后, 用 "
        "tracker claims set-input {claim_id} --loss-value 金额 重新计算",
        "This claim lacks configuration, not an input of its own: {missing}; configure the contract's ratio in "
        "config/claims/contracts.toml, then compute it again with tracker claims set-input {claim_id} --loss-value X",
    ),
    "inputs_no_category": (
        "大运险按品类赔付, 这个包裹没有品类 (导出表的「类目」列为空): 填写「类目」后重新导入; "
        "赔付表的品类: {categories}",
        "Freight insurance pays by category, and this parcel has none (the export's 类目 is blank): fill it in and "
        "import again; the table's categories: {categories}",
    ),
    "inputs_category": (
        "大运险按品类赔付, 这个包裹的品类「{category}」不在赔付表中: 在导出表的「类目」列填写品类后重新导入, "
        "或在 config/claims/freight_insurance.toml 的赔付表中加入该品类",
        "Freight insurance pays by category, and this parcel's category ({category}) is not in its table: fill in "
        "the export's 类目 column and import it again, or add the category to config/claims/freight_insurance.toml",
    ),
    "inputs_still_missing": ("运单 {waybill}: 仍缺少 {missing}", "Waybill {waybill}: still missing {missing}"),
    "inputs_one_at_a_time": (
        "勾选的理赔中有 {n} 条缺参数: 每次只勾选其中一条, 即可在此补充",
        "{n} of the ticked claims lack inputs: tick one of them at a time to give them here",
    ),
    "ledger_total": ("索赔金额合计 {amount} · 已赔付合计 {paid}", "Claimed {amount} in all · paid {paid}"),
    # claims without an amount yet (缺参数): named beside a sum, never counted in it as 0
    "amount_unknown": ("未知", "unknown"),
    "amounts_unknown_n": ("另有 {n} 件金额未知, 未计入", "{n} more without an amount, not counted"),
    "missing": ("缺少的数据", "Missing"),
}

# --- charts part (issue 15 items 8-9): chart titles, axes, legends, the filters expander ---
LABELS.update(
    {
        "mark": ("标记", "Mark"),
        "mark_stale_warn": ("{hours} 小时: 超时提醒", "{hours} h: warning"),
        "age_bucket": ("{hours}–{below} 小时", "{hours}–{below} h"),
        "age_bucket_open": ("≥{hours} 小时", "≥{hours} h"),
        "mark_stale_escalate": ("{hours} 小时: 升级", "{hours} h: escalation"),
        "per_day": ("近30天每日新增与解决的异常(条)", "New and resolved exceptions per day, last 30 days"),
        "opened": ("新增", "New"),
        "resolved": ("已解决", "Resolved"),
        "day": ("日期", "Day"),
        "series": ("类别", "Series"),
        "month": ("月份", "Month"),
        "recovered_by_month": ("各快递每月追回金额(已赔付)", "Money recovered (paid) per courier per month"),
        "recovered_yuan": ("追回金额(元)", "Recovered (CNY)"),
        "paid_claims": ("赔付件数", "Paid claims"),
        "filters": ("筛选", "Filters"),
        "filters_set": ("已设 {n} 个筛选条件", "Filters set: {n}"),
        "age": ("未更新时长", "Age"),
        "hours_cell": ("%d 小时", "%d h"),  # a number column's format (components.Hours)
        "chart_hint": ("点击柱形打开对应的异常队列", "Click a bar to open its queue"),
    }
)


# exports part (issue 15 item 7): whole-set XLSX exports of the queue and the ledger
LABELS.update(
    {
        "export_queue": ("导出全部筛选结果 (XLSX)", "Export all filtered rows (XLSX)"),
        "export_ledger": ("导出理赔台账 (XLSX)", "Export the ledger (XLSX)"),
        "export_notes": ("说明", "Notes"),
        "export_made": ("导出时间: {at}", "Exported at {at}"),
        "export_rows": ("导出行数: {n}", "Rows exported: {n}"),
        "export_failed": (
            "导出失败, 详情已记录到服务器日志; 请稍后再导出",
            "The export failed; the details are in the server log. Export again later",
        ),
        "export_cut": (
            "共 {n} 条, 超过导出上限, 只导出前 {limit} 条; 请缩小筛选范围",
            "{n} rows match, more than the export limit: only the first {limit} are exported; narrow the filters",
        ),
        "export_filters": ("筛选条件", "Filters"),
        "scenario": ("情形", "Scenario"),
        "filing_opens_at": ("可申请日期", "Filing opens"),
        "filed_at": ("提交日期", "Filed on"),
    }
)


def t(key: str, lang: str, **kw: object) -> str:
    text = pick(LABELS, key, lang)
    return text.format(**kw) if kw else text


# --- words (issue 15 item 4): every code a person reads on the board, in both languages -------------------
# tracker.labels.value_label(column, value, lang) is the one place a table cell's code becomes words;
# components.table and pick_table call it for every cell, so no page can forget one.

LABELS.update(
    {
        "fact_kind": ("记录类型", "Record"),
        "claim_scenario": ("情形", "Scenario"),
        "alerts_sent_help": (
            "一条提醒 = 一条异常发给一个接收组的一次通知; 同一接收人的多条提醒可合并为一条消息发送",
            "One alert = one exception notified to one group; several alerts to the same recipient may go out as one"
            " message",
        ),
        "error_generic": (
            "操作未完成, 详情已记录到服务器日志",
            "The action did not complete; the details are in the server log",
        ),
        "err_actor_required": ("缺少操作人姓名", "The name of the person acting is required"),
        "err_assignee_required": ("请填写「分配给」的姓名", "Fill in the name to assign to"),
        "err_assignee_too_long": (
            "「分配给」的姓名过长 (最多 {limit} 个字符)",
            "The name to assign to is too long (at most {limit} characters)",
        ),
        "err_note_empty": ("备注为空", "The note is empty"),
        "err_note_too_long": (
            "填写的文字过长 (最多 {limit} 个字符)",
            "The text is too long (at most {limit} characters)",
        ),
        "err_flag_missing": ("异常 {flag_id} 不存在", "Exception {flag_id} does not exist"),
        "err_flag_resolved": (
            "异常 {flag_id} 已解决; 再次出现时会自动重新打开",
            "Exception {flag_id} is already resolved; it reopens by itself if it fires again",
        ),
        "err_not_allowed": ("{user} 没有权限执行此操作", "{user} may not do this"),
        "err_claim_missing": ("理赔 {claim_id} 不存在", "Claim {claim_id} does not exist"),
        "err_parcel_missing": ("包裹 {parcel_id} 不存在", "Parcel {parcel_id} does not exist"),
        "err_claim_transition": (
            "理赔 {claim_id} 当前为「{state}」, 不能改为「{to}」",
            "Claim {claim_id} is {state}; it cannot become {to}",
        ),
        "err_claim_changed": ("理赔 {claim_id} 刚被他人修改, 请重试", "Claim {claim_id} changed meanwhile; try again"),
        "err_claim_no_amount": (
            "理赔 {claim_id} 还没有金额 (缺少: {missing_zh}), 不能{done}",
            "Claim {claim_id} has no amount yet (missing: {missing}), so it cannot be {done}",
        ),
        "err_reference_required": (
            "提交理赔需要填写快递的理赔单号",
            "A filed claim needs the courier's reference number",
        ),
        "err_reference_invalid": (
            "理赔单号应为一行, 最多 {n} 个字符",
            "The reference number is one line of at most {n} characters",
        ),
        "err_filing_not_open": ("理赔 {claim_id} 的申请期 {at} 才开始", "Claim {claim_id}: filing opens {at}"),
        "err_filing_closed": (
            "理赔 {claim_id} 的申请期已于 {at} 截止",
            "Claim {claim_id}: the filing window closed {at}",
        ),
        "err_claim_too_large": (
            "理赔 {claim_id} 按这些参数将达到或超过 10 亿元, 请检查输入",
            "Claim {claim_id} would come to a billion CNY or more with these inputs: check them",
        ),
        "err_paid_in_future": (
            "理赔 {claim_id} 的赔付日期 {at} 晚于现在: 请在收到赔付后再登记",
            "Claim {claim_id}: the payout date {at} is after now; record a payout once it came",
        ),
        "err_filed_in_future": (
            "理赔 {claim_id} 的提交时间 {at} 晚于现在: 请在实际提交后再登记",
            "Claim {claim_id}: the filing time {at} is after now; record a filing once it is made",
        ),
        "err_import_writer_gone": (
            "导入的写入进程意外退出(退出码 {exit_code}): 已保存的行保留, 请重新导入该文件以保存其余的行",
            "The import's writer process ended unexpectedly (exit code {exit_code}); the rows stored stay, import "
            "the file again to store the rest",
        ),
        "err_event_after_now": ("事件时间 {at} 晚于现在({now})", "The event's time {at} is later than now ({now})"),
        "err_import_stopped": (
            "{file}: 导入在读取 {rows} 行后被中止, 其中 {parcels} 个包裹已保存, 其余未保存。"
            "请重新导入该文件以保存其余部分(已保存的包裹会被更新, 不会重复)",
            "{file}: import stopped after {rows} rows; {parcels} parcels from them are stored, the rest are not. "
            "Import the file again to store the rest (the same parcels are updated, not duplicated)",
        ),
        "err_payout_negative": ("赔付金额不能为负数: {amount}", "A payout is not negative: {amount}"),
        "err_payout_before_filing": (
            "赔付日期 {paid} 早于提交日期 {filed}",
            "The payout date {paid} is before the claim was filed ({filed})",
        ),
        "err_reason_required": ("驳回理赔需要填写快递给出的原因", "A rejection needs the courier's reason"),
        "err_claim_exists": (
            "运单 {waybill} 已有「{claim_type}」理赔",
            "Waybill {waybill} already has a {claim_type} claim",
        ),
        "err_insurance_claimed": (
            "运单 {waybill} 不能再申请大运险: 一个订单只理赔一次, 该订单的理赔在运单 {holder} 上",
            "Waybill {waybill}: freight insurance pays once per order, and this order's claim is on waybill {holder}",
        ),
        "err_no_claim_flag": (
            "运单 {waybill} 没有可发起理赔的未解决异常",
            "{waybill}: no unresolved exception that leads to a claim",
        ),
        "err_claim_direction": (
            "运单 {waybill} ({direction}包裹): 「{claim_type}」按{documents}提交, 不能用于这个包裹",
            "Waybill {waybill} ({direction}): {claim_type} is filed against {documents}, not this parcel",
        ),
        "err_claim_type": ("运单 {waybill} 不能发起这类理赔", "Waybill {waybill}: this claim type cannot be opened"),
        "err_parcel_not_found": ("没有运单号为 {waybill} 的包裹", "No parcel with waybill {waybill}"),
        "err_several_couriers": (
            "运单号 {waybill} 属于多家快递, 请选择快递",
            "Waybill {waybill} is with several couriers; choose the courier",
        ),
        "err_deadline_zone": ("退款截止时间需要带时区", "The refund deadline needs a time zone"),
        "err_not_short": (
            "实收 {received} 件不少于申报 {claimed} 件, 不是少件",
            "{received} received is not fewer than {claimed} claimed: not a short return",
        ),
        "err_input_negative": ("{input}不能为负数: {amount}", "The {input} cannot be negative: {amount}"),
        "err_claim_not_computed": (
            "理赔 {claim_id} 无法按其理赔表重新计算: 它的理赔表版本已不在 config/claims 中",
            "Claim {claim_id} cannot be computed again: its claim table version is no longer in config/claims",
        ),
        "err_inputs_after_filing": (
            "理赔 {claim_id} 当前为「{state}」: 只有未提交的理赔可以补充参数",
            "Claim {claim_id} is {state}: only an unfiled claim takes new inputs",
        ),
        "done_filed": ("提交", "filed"),  # claims.service._require_amount's `done`
        "done_paid": ("赔付", "paid"),
    }
)


def error_text(exc: BaseException, lang: str, tz: tzinfo = UTC) -> str:
    """A service's error on the board: its code (tracker.errors.TrackerError.code) as a translated line with
    its values in words; an error without a known code is one generic line (the CLI keeps its own words)."""
    code = getattr(exc, "code", None)
    key = f"err_{code}"
    if code is None or key not in LABELS:
        return t("error_generic", lang)
    params = dict(getattr(exc, "params", {}) or {})
    times = {name: item for name, item in params.items() if isinstance(item, datetime)}
    params.update(zip(times, local_times(list(times.values()), tz), strict=True))
    for name in ("state", "to"):
        if name in params:
            params[name] = value_label("state", params[name], lang)
    if "claim_type" in params:
        params["claim_type"] = value_label("claim_type", params["claim_type"], lang)
    if "direction" in params:
        params["direction"] = value_label("direction", params["direction"], lang)
        params["direction"] = params["direction"] if lang == "zh" else params["direction"].lower()
    if "input" in params:  # a claim's input (claims set-input)
        params["input"] = input_label(params["input"], lang)
    if "done" in params:
        params["done"] = t(f"done_{params['done']}", lang)
    return t(key, lang, **params)
