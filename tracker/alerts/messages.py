"""Alert texts in Chinese or English, rendered as markdown (DingTalk, WeCom, webhook), Slack mrkdwn
or plain text (e-mail). Pure: facts and `now` in, strings out.

Every value that comes from outside (waybill, courier, shop, region, texts) is wrapped in `Untrusted` where
a line is built, and `render` escapes exactly those parts with the one helper for the target format
(tracker/escape.py); our own words and the layout stay markup."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

from tracker import labels
from tracker.alerts.model import ClaimFacts, FlagFacts
from tracker.escape import robot_md, slack_mrkdwn
from tracker.rules.ladder import LadderPosition, whole_days_left
from tracker.status import Direction

# Channel type -> body format.
FORMATS = {
    "board": "markdown",  # shown on the board's alerts page
    "dingtalk": "markdown",
    "wecom": "markdown",
    "webhook": "markdown",
    "slack": "slack",
    "email": "text",
}

# Which moment "for how long" counts from, per kind: (parcel field, zh label, en label).
_SINCE = {
    "no_first_scan": ("shipped_at", "距发货", "since shipping"),
    "stale": ("last_event_at", "距最后一条物流", "since the last scan"),
    "lost_suspected": ("last_event_at", "距最后一条物流", "since the last scan"),
    "late_shipment": ("paid_at", "距付款", "since payment"),
}

_WORDS = {
    "zh": {
        "lead": "主管", "reminder": "第{n}次提醒", "waybill": "运单",
        "problem": "问题", "duration": "持续", "flagged": "距标记", "action": "建议处理",
        "open": "在看板中打开", "step": "第{n}步",
        "message_first": "现在先给买家旺旺留言; 电话任务在可致电时段另行提醒", "days_left": "退款截止还剩 {d} 天",
        "deadline_passed": "退款截止已过 {d}",
        "call": "请在 {start}-{end} 内致电买家 (本案第 {k}/{max} 次)",
        "call_limit": "本案已致电 {max} 次, 不要再打电话, 请留言跟进 (恶意骚扰会被扣分)",
        "call_owner": "致电买家由 {group} 负责, 请勿重复致电",
        "claim": "索赔建议", "claim_none": "暂无索赔记录, 请按丢件流程发起索赔",
        "claim_none_return": "暂无索赔记录; 退货: 上门取件的退货可发起货物丢失理赔, 买家自寄的由买家向快递协商赔偿",
        "closes": "截止", "shop": "店铺", "region": "地区",
    },
    "en": {
        "lead": "Lead", "reminder": "Reminder {n}",
        "waybill": "Waybill", "problem": "Problem", "duration": "For", "flagged": "since flagged",
        "action": "Next action", "open": "Open on the board", "step": "step {n}",
        "message_first": "Leave the buyer a message now; the phone task follows in the calling window",
        "days_left": "{d} days left before the refund deadline",
        "deadline_passed": "the refund deadline passed {d} ago",
        "call": "Phone the buyer between {start} and {end} (call {k} of {max} for this case)",
        "call_limit": "This case has had {max} calls: do not phone again, leave a message "
        "(harassment costs points)",
        "call_owner": "Phoning the buyer is a task for {group}: do not call as well",
        "claim": "Claim proposal", "claim_none": "No claim yet: start a loss claim",
        "claim_none_return": "No claim yet; a return: open a goods-lost claim for a pick-up return, while a return"
        " the buyer sent is the buyer's to take up with the courier",
        "closes": "closes", "shop": "Shop", "region": "Region",
    },
}  # fmt: skip


def words(language: str) -> dict[str, str]:
    return _WORDS[language]


class Untrusted(str):
    """A value from outside (courier, shop, buyer, provider): escaped by `render` for the target format."""


# A line: our own text (str), or our text and untrusted values in order (a tuple of str and Untrusted).
Text = str | tuple[str, ...]

_ESCAPES = {"markdown": robot_md, "slack": slack_mrkdwn, "text": lambda value: value}


def plain(text: Text) -> str:
    """The text as it reads, nothing escaped (subjects, e-mail)."""
    return text if isinstance(text, str) else "".join(text)


def escaped(text: Text, fmt: str) -> str:
    """The text for `fmt`: its Untrusted parts through the format's one escaping helper."""
    escape = _ESCAPES[fmt]
    if isinstance(text, Untrusted):
        return escape(str(text))
    if isinstance(text, str):
        return text
    return "".join(escape(str(part)) if isinstance(part, Untrusted) else part for part in text)


@dataclass(frozen=True, slots=True)
class Message:
    title: Text
    lines: tuple[Text, ...]
    link: tuple[str, str] | None = None  # (text, url): our words and the board's URL (values %-encoded)

    @property
    def subject(self) -> str:
        return plain(self.title)


def render(message: Message, fmt: str) -> str:
    """The message as `markdown`, Slack `slack` mrkdwn or plain `text`."""
    title = escaped(message.title, fmt)
    lines = [(plain(line).startswith("  "), escaped(line, fmt)) for line in message.lines]
    if fmt == "markdown":
        parts = [f"### {title}", "", *(_item(line, sub, "- ", "  - ") for sub, line in lines)]
        if message.link:
            parts += ["", f"[{message.link[0]}]({message.link[1]})"]
    elif fmt == "slack":
        parts = [f"*{title}*", *(_item(line, sub, "• ", "    ◦ ") for sub, line in lines)]
        if message.link:
            parts.append(f"<{message.link[1]}|{message.link[0]}>")
    else:
        parts = [title, "", *(line for _, line in lines)]
        if message.link:
            parts += ["", f"{message.link[0]}: {message.link[1]}"]
    return "\n".join(parts)


def _item(line: str, sub: bool, bullet: str, sub_bullet: str) -> str:
    """A list item; a line indented by two spaces is a sub-item of the one before."""
    return sub_bullet + line.strip() if sub else bullet + line


def format_duration(span: timedelta, language: str) -> str:
    return labels.hours_in_words(int(span.total_seconds() // 3600), language)


def board_link(board_url: str, waybill: str) -> str:
    # every character but letters, digits and "_.-~" is %-encoded: the waybill cannot end the link
    return board_url.replace("{waybill}", quote(waybill, safe=""))


@dataclass(frozen=True, slots=True)
class CallNote:
    """The phone task attached to an alert: the call number, or the limit that stops it."""

    number: int
    max_calls: int
    window: str  # "10:00-18:00"
    limited: bool = False
    owner: str | None = None  # the group whose task the call is, when the alert goes to another one too


def flag_message(
    flag: FlagFacts,
    *,
    language: str,
    level: str,
    reminder: int,
    to_lead: bool,
    now: datetime,
    tz: ZoneInfo,
    board_url: str,
    call: CallNote | None = None,
    with_claims: bool = False,
    message_first: bool = False,
) -> Message:
    """The alert for one flag at one level: waybill and courier, what is wrong, for how long, the next
    action, the phone task (or its limit), the claim proposal for losses, and the board link."""
    w = _WORDS[language]
    zh = language == "zh"
    kind_label = labels.kind_label(flag.kind, language)  # the board's words: an alert names what the queue shows
    tag = labels.severity_label(flag.severity, language)
    if to_lead and flag.severity != "escalate":
        tag = w["lead"]
    if reminder:
        tag += " · " + w["reminder"].format(n=reminder)
    waybill = Untrusted(flag.waybill)
    title = (f"【{tag}】{kind_label} ", waybill) if zh else (f"[{tag}] {kind_label} ", waybill)
    courier = Untrusted((flag.courier_name if zh else flag.courier_name_en) or flag.courier)
    lines: list[Text] = [(f"{w['waybill']}: ", waybill, " (", courier, ")")]
    problem = kind_label
    if flag.kind == "refund_deadline":
        at = LadderPosition.from_details(flag.details)
        problem += " · " + w["step"].format(n=at.step if at is not None else flag.level + 1)
        # past the deadline as the ladder reads it (strictly after: LadderPosition.hours_over); it read 还剩 0 天
        if flag.refund_deadline is not None and flag.refund_deadline < now:
            passed = labels.hours_in_words(int((now - flag.refund_deadline).total_seconds() // 3600), language)
            problem += " · " + w["deadline_passed"].format(d=passed)
        elif flag.refund_deadline is not None:
            days_left = whole_days_left(flag.refund_deadline, now)
            problem += " · " + w["days_left"].format(d=days_left)
    lines.append(f"{w['problem']}: {problem}")
    since_field, since_zh, since_en = _SINCE.get(flag.kind, ("opened_at", w["flagged"], w["flagged"]))
    since = getattr(flag, since_field, None) or flag.opened_at
    label = since_zh if zh else since_en
    lines.append(f"{w['duration']}: {format_duration(now - since, language)} ({label})")
    if flag.shop or flag.province:
        lines.append((Untrusted(" · ".join(p for p in (flag.shop, flag.province) if p)),))
    action = (flag.next_action_zh if zh else flag.next_action_en) or flag.next_action_zh or flag.next_action_en
    if action:
        lines.append((f"{w['action']}: ", Untrusted(action)))
    if message_first:  # a ladder step's message, before its phone task (tracker.alerts.planning)
        lines.append(w["message_first"])
    if call is not None:
        start, end = call.window.split("-")
        if call.limited:
            lines.append(w["call_limit"].format(max=call.max_calls))
        elif call.owner is not None:  # one call per case: the other group is told, not asked to phone too
            lines.append(w["call_owner"].format(group=labels.value_label("recipient", call.owner, language)))
        else:
            lines.append(w["call"].format(start=start, end=end, k=call.number, max=call.max_calls))
    if with_claims:
        lines.append(_claims_line(flag.claims, language, tz, is_return=flag.direction == Direction.ret))
    return Message(title=title, lines=tuple(lines), link=(w["open"], board_link(board_url, flag.waybill)))


def _claims_line(claims: tuple[ClaimFacts, ...], language: str, tz: ZoneInfo, *, is_return: bool = False) -> str:
    """The claims of a loss alert; none yet: start one, or on a buyer's return who claims (docs/claims.md)."""
    w = _WORDS[language]
    if not claims:
        return f"{w['claim']}: {w['claim_none_return' if is_return else 'claim_none']}"
    parts = []
    for claim in claims:
        state = labels.state_label(claim.state, language)  # in the line's words: "Goods lost draft"
        text = f"{labels.claim_type_label(claim.claim_type, language)} {state if language == 'zh' else state.lower()}"
        if claim.amount is not None:
            text += f" {claim.amount:.2f} {claim.currency}"
        if claim.filing_closes_at is not None:
            text += f" ({w['closes']} {claim.filing_closes_at.astimezone(tz):%Y-%m-%d})"
        parts.append(text)
    return f"{w['claim']}: " + "; ".join(parts)


def bundle_message(bodies: list[str], *, title: str, fmt: str) -> str:
    """Several stored alert bodies sent as one message (held overnight, or more than a robot takes)."""
    head = {"markdown": f"## {title}", "slack": f"*{title}*", "text": title}[fmt]
    sep = "\n\n---\n\n" if fmt == "markdown" else "\n\n"
    return head + "\n\n" + sep.join(bodies)
