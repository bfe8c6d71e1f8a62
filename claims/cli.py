"""`tracker claims ...`: compute at the desk, propose, list, act on the ledger, export packets, reconcile."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from claims.formula import missing_words
from claims.formula import show as show_formula
from tracker import labels
from tracker.commands.context import (
    BY_HELP,
    NOW_HELP,
    Format,
    ctx_app,
    emit,
    known,
    known_courier,
    resolve_actor,
    resolve_now,
)
from tracker.errors import TrackerError
from tracker.status import ClaimState
from tracker.values import ValueProblem, format_money, parse_local_time, parse_money

if TYPE_CHECKING:
    from claims.engine import Compensation
    from claims.tables import ClaimTables

# The claims service, engine and tables (SQLAlchemy, the storage) are imported inside the commands that use
# them, so that `tracker --help` and the other commands start without loading them.

claims_app = typer.Typer(help="Courier claims: compute, propose, file, pay, export, reconcile.", no_args_is_help=True)
CLAIMABLE = "claimable"  # the totals' row of claimable money (claims/claimable.py), as the board's ledger filter
LIST_COLUMNS = [
    "id",
    "waybill",
    "courier",
    "claim_type",
    "scenario",
    "state",
    "amount",
    "missing",
    "filing_opens_at",
    "filing_closes_at",
    "reference_no",
    "paid_amount",
    "formula",
]


def register(app: typer.Typer) -> None:
    app.add_typer(claims_app, name="claims")


def _tables(ctx: typer.Context) -> ClaimTables:
    from claims.tables import tables_of

    return tables_of(ctx_app(ctx).settings)


def _money(text: str | None, option: str) -> Decimal | None:
    if text is None:
        return None
    try:
        return parse_money(text)
    except ValueProblem as exc:
        raise TrackerError(f"{option}: expected {exc}") from None


@claims_app.command("compute", help="Compute a claim amount and its formula (no database needed).")
def compute(
    ctx: typer.Context,
    claim_type: str = typer.Option(..., "--type", help="Claim code, e.g. ship_delay, goods_lost, freight_insurance."),
    goods_value: str | None = typer.Option(None, help="Goods value (货值) or the order amount for freight insurance."),
    scenario: str = typer.Option("default", help="Scenario, e.g. refused; return|refusal for freight insurance."),
    category: str | None = typer.Option(
        None, help="Freight-insurance category: flat_panel_tv, other_tv, refrigerator, washing_machine."
    ),
    forward_freight: str | None = typer.Option(None, help="Forward freight (正向运费)."),
    reverse_freight: str | None = typer.Option(None, help="Reverse freight (逆向运费)."),
    supplier_value: str | None = typer.Option(None, help="Supplier value (供货商货值)."),
    courier: str | None = typer.Option(None, help="Courier slug, for contract fixed amounts."),
    order_time: str | None = typer.Option(None, help="Order time (anchor of the filing window)."),
    fmt: str = typer.Option("text", "--format", help="text or json."),
) -> None:
    from claims.engine import FREIGHT_INSURANCE, ClaimInputs, compute_compensation, compute_insurance

    tables = _tables(ctx)
    tz = ctx_app(ctx).settings.tz
    known(courier, ctx_app(ctx).settings.couriers, "--courier", "a courier")
    try:
        anchor = parse_local_time(order_time, tz) if order_time else None
    except ValueProblem as exc:
        raise TrackerError(f"--order-time: expected {exc}") from None
    inputs = ClaimInputs(
        courier=courier,
        goods_value=_money(goods_value, "--goods-value"),
        forward_freight=_money(forward_freight, "--forward-freight"),
        reverse_freight=_money(reverse_freight, "--reverse-freight"),
        supplier_value=_money(supplier_value, "--supplier-value"),
        came_back=reverse_freight is not None,
        order_created_at=anchor,
        order_issued_at=anchor,
    )
    try:
        if claim_type == FREIGHT_INSURANCE:
            if not category:
                raise TrackerError("--category is required for freight_insurance")
            comp = compute_insurance(inputs, category, scenario, tables)
        else:
            comp = compute_compensation(inputs, claim_type, scenario, tables)
    except ValueError as exc:
        raise TrackerError(str(exc)) from None
    _print_compensation(comp, fmt, tz)


def _print_compensation(comp: Compensation, fmt: str, tz) -> None:  # type: ignore[no-untyped-def]
    if fmt == "json":
        typer.echo(
            json.dumps(
                {
                    "claim_type": comp.claim_type,
                    "scenario": comp.scenario,
                    "amount": None if comp.amount is None else str(comp.amount),
                    "currency": comp.currency,
                    "formula": list(comp.lines),
                    "missing": list(comp.missing),
                    "table_version": comp.table_version,
                    "filing_opens": comp.filing_opens.isoformat() if comp.filing_opens else None,
                    "filing_closes": comp.filing_closes.isoformat() if comp.filing_closes else None,
                },
                ensure_ascii=False,
            )
        )
        return
    amount = "not computable" if comp.amount is None else f"{comp.amount:,.2f} {comp.currency}"
    named = f"{labels.claim_type_label(comp.claim_type, 'en')} ({labels.scenario_label(comp.scenario, 'en')})"
    typer.echo(f"{named}: {amount}")
    for line in comp.lines:
        typer.echo(f"  {line}")
    if comp.filing_opens:
        typer.echo(
            f"  filing window: {comp.filing_opens.astimezone(tz):%Y-%m-%d %H:%M} .. "
            f"{comp.filing_closes.astimezone(tz):%Y-%m-%d %H:%M}"
            if comp.filing_closes
            else ""
        )
    typer.echo(f"  table {comp.table_version}")


@claims_app.command(
    "propose",
    help="Draft the claims that open flags call for; give a filing window to the drafts whose parcel has its order "
    "time now; expire overdue drafts.",
)
def propose(
    ctx: typer.Context,
    now: str | None = typer.Option(None, help=NOW_HELP),
    by: str | None = typer.Option(None, help=BY_HELP),
) -> None:
    from claims import service

    app = ctx_app(ctx)
    summary = service.propose(
        app.engine, tables=_tables(ctx), now=resolve_now(now, app.settings), actor=resolve_actor(by) if by else "claims"
    )
    total = sum(summary.proposed.values())
    typer.echo(f"proposed {total} claims ({summary.needs_config} need configuration), expired {summary.expired}")
    if summary.windows_set:
        typer.echo(f"{summary.windows_set} drafts now have a filing window (their parcel's order time came since)")
    if summary.inputs_filled:
        typer.echo(f"{summary.inputs_filled} claims lacking an input are complete now (their parcel holds it since)")
    for claim_type, count in summary.proposed.most_common():
        typer.echo(f"  {labels.claim_type_label(claim_type, 'en')}: {count}")


@claims_app.command("list", help="List claims.")
def list_cmd(
    ctx: typer.Context,
    state: str | None = typer.Option(None, help="draft, needs_config, filed, paid, rejected, expired, withdrawn."),
    courier: str | None = typer.Option(None, help="Courier slug; 未发货 (or -): claims of orders not shipped."),
    limit: int = typer.Option(200, min=1),
    fmt: Format = typer.Option(Format.table, "--format", help="table, json, csv or xlsx (> file.xlsx)."),
    now: str | None = typer.Option(None, help=NOW_HELP),
) -> None:
    from claims import service

    app = ctx_app(ctx)
    known(state, ClaimState, "--state", "a claim state")
    courier = known_courier(app, courier)
    at = resolve_now(now, app.settings)  # a draft whose window has closed reads expired, as in claims totals
    rows = service.list_claims(app.engine, state=state, courier=courier, limit=limit, now=at)
    # stored as parts: in English here, in Chinese in an XLSX (its headers are Chinese, as the packets' formulas)
    # and what is missing, in the sheet's Chinese too (the column holds it in English)
    if fmt is Format.xlsx:
        rows = [{**r, "missing": missing_words(r.get("formula"), "zh") or r.get("missing")} for r in rows]
    lang = "zh" if fmt is Format.xlsx else "en"
    rows = [{**r, "formula": show_formula(r.get("formula"), lang)} for r in rows]
    emit(rows, LIST_COLUMNS, fmt, tz=app.settings.tz, couriers=app.settings.couriers)


def _at(ctx: typer.Context, text: str | None, now: str | None):  # type: ignore[no-untyped-def]
    settings = ctx_app(ctx).settings
    moment = resolve_now(now, settings)
    if not text:
        return moment, moment
    try:
        return moment, parse_local_time(text, settings.tz)
    except ValueProblem as exc:
        raise TrackerError(f"--date: expected {exc}") from None


FILED_HELP = "Filing date and time in the configured zone (default: now); a date alone: filed that day."


def _whole_day(text: str | None, at: datetime) -> tuple[datetime, datetime] | None:
    """A --date written without a time of day means that whole local day (at: its local midnight)."""
    if not text or ":" in text or "时" in text:
        return None
    return at, at + timedelta(days=1)


@claims_app.command("open", help="Open a claim of a chosen type for a parcel.")
def open_cmd(
    ctx: typer.Context,
    waybill: str = typer.Argument(...),
    claim_type: str = typer.Option(..., "--type"),
    scenario: str = typer.Option("default"),
    now: str | None = typer.Option(None, help=NOW_HELP),
    by: str | None = typer.Option(None, help=BY_HELP),
) -> None:
    from claims import service
    from tracker.flags.facts import find_parcel

    app = ctx_app(ctx)
    parcel = find_parcel(app.engine, waybill=waybill)
    claim_id = service.open_claim(
        app.engine,
        parcel_id=parcel["id"],
        claim_type=claim_type,
        scenario=scenario,
        tables=_tables(ctx),
        actor=resolve_actor(by),
        now=resolve_now(now, app.settings),
    )
    claim = service.get_claim(app.engine, claim_id)
    state = labels.state_label(claim["state"], "en")
    typer.echo(f"claim {claim_id}: {state}, {claim['amount'] or '-'} ({show_formula(claim['formula'])})")


@claims_app.command("file", help="Record that a claim was filed with the courier.")
def file_cmd(
    ctx: typer.Context,
    claim_id: int,
    ref: str = typer.Option(..., help="The courier's reference number."),
    date: str | None = typer.Option(None, help=FILED_HELP),
    now: str | None = typer.Option(None, help=NOW_HELP),
    by: str | None = typer.Option(None, help=BY_HELP),
) -> None:
    from claims import service

    moment, at = _at(ctx, date, now)
    day = _whole_day(date, at)
    claim = service.file_claim(
        ctx_app(ctx).engine,
        claim_id=claim_id,
        reference_no=ref,
        actor=resolve_actor(by),
        now=moment,
        filed_at=None if day else at,
        filed_on=day,
        tz=ctx_app(ctx).settings.tz,
    )
    typer.echo(f"claim {claim_id}: filed ({claim['reference_no']})")


@claims_app.command("pay", help="Record the courier's payout.")
def pay_cmd(
    ctx: typer.Context,
    claim_id: int,
    amount: str = typer.Option(...),
    date: str | None = typer.Option(None),
    now: str | None = typer.Option(None, help=NOW_HELP),
    by: str | None = typer.Option(None, help=BY_HELP),
) -> None:
    from claims import service

    moment, at = _at(ctx, date, now)
    paid = _money(amount, "--amount")
    assert paid is not None  # --amount is required
    app = ctx_app(ctx)
    claim = service.pay_claim(
        app.engine, claim_id=claim_id, amount=paid, actor=resolve_actor(by), now=moment, paid_at=at, tz=app.settings.tz
    )
    note = "" if claim["amount"] == paid else f" (expected {claim['amount']}: differs)"
    typer.echo(f"claim {claim_id}: paid {paid}{note}")


@claims_app.command("set-input", help="Give an unfiled claim a missing input and recompute it (same table version).")
def set_input_cmd(
    ctx: typer.Context,
    claim_id: int,
    fixed_amount: str | None = typer.Option(None, help="The contract's fixed amount (固定金额) for this claim."),
    forward_freight: str | None = typer.Option(None, help="Forward freight (正向运费)."),
    reverse_freight: str | None = typer.Option(None, help="Reverse freight (逆向运费)."),
    goods_value: str | None = typer.Option(None, help="Goods value (货值)."),
    supplier_value: str | None = typer.Option(None, help="Supplier value (供货商货值)."),
    loss_value: str | None = typer.Option(None, help="The loss a ratio applies to."),
    now: str | None = typer.Option(None, help=NOW_HELP),
    by: str | None = typer.Option(None, help=BY_HELP),
) -> None:
    from claims import service

    app = ctx_app(ctx)
    given = {
        "fixed_amount": _money(fixed_amount, "--fixed-amount"),
        "forward_freight": _money(forward_freight, "--forward-freight"),
        "reverse_freight": _money(reverse_freight, "--reverse-freight"),
        "goods_value": _money(goods_value, "--goods-value"),
        "supplier_value": _money(supplier_value, "--supplier-value"),
        "loss_value": _money(loss_value, "--loss-value"),
    }
    claim = service.set_input(
        app.engine,
        claim_id=claim_id,
        tables=_tables(ctx),
        actor=resolve_actor(by),
        now=resolve_now(now, app.settings),
        **given,
    )
    if claim["amount"] is None:
        typer.echo(f"claim {claim_id}: still needs {claim['missing']} ({show_formula(claim['formula'])})")
    else:
        typer.echo(
            f"claim {claim_id}: {claim['amount']:,.2f} {claim['currency']} ({show_formula(claim['formula'])}), "
            f"table {claim['table_version']}, ready to file"
        )


@claims_app.command("reject", help="Record the courier's rejection.")
def reject_cmd(
    ctx: typer.Context,
    claim_id: int,
    reason: str = typer.Option(...),
    now: str | None = typer.Option(None, help=NOW_HELP),
    by: str | None = typer.Option(None, help=BY_HELP),
) -> None:
    from claims import service

    app = ctx_app(ctx)
    service.reject_claim(
        app.engine, claim_id=claim_id, reason=reason, actor=resolve_actor(by), now=resolve_now(now, app.settings)
    )
    typer.echo(f"claim {claim_id}: rejected")


@claims_app.command("withdraw", help="Withdraw a claim.")
def withdraw_cmd(
    ctx: typer.Context,
    claim_id: int,
    now: str | None = typer.Option(None, help=NOW_HELP),
    by: str | None = typer.Option(None, help=BY_HELP),
) -> None:
    from claims import service

    app = ctx_app(ctx)
    service.withdraw_claim(app.engine, claim_id=claim_id, actor=resolve_actor(by), now=resolve_now(now, app.settings))
    typer.echo(f"claim {claim_id}: withdrawn")


@claims_app.command("export", help="Write claim packets (XLSX with an evidence sheet per parcel, or CSV).")
def export_cmd(
    ctx: typer.Context,
    out: Path = typer.Option(..., help="FILE.xlsx or FILE.csv"),
    state: str | None = typer.Option(None, help="Only claims in this state."),
    ids: str | None = typer.Option(None, help="Comma-separated claim ids."),
    now: str | None = typer.Option(None, help=NOW_HELP),
) -> None:
    from claims import service
    from claims.export import export_claims

    app = ctx_app(ctx)
    known(state, ClaimState, "--state", "a claim state")
    try:
        wanted = [int(x) for x in ids.split(",")] if ids else None
    except ValueError:
        raise TrackerError(f"--ids: expected comma-separated numbers, got {ids!r}") from None
    claims = service.list_claims(app.engine, state=state, ids=wanted, limit=100_000, now=resolve_now(now, app.settings))
    missing = sorted(set(wanted or ()) - {claim["id"] for claim in claims})
    if missing:  # a packet the lead asked for by number is never left out without a word
        shown = ", ".join(map(str, missing))
        where = f" in state {labels.state_label(state, 'en').lower()}" if state else ""
        raise TrackerError(f"--ids: no claim {shown}{where} (tracker claims list shows the ids)")
    if not claims:
        raise TrackerError("no claims match")
    try:
        export_claims(
            out, claims, engine=app.engine, tables=_tables(ctx), tz=app.settings.tz, couriers=app.settings.couriers
        )
    except ValueError as exc:
        raise TrackerError(str(exc)) from None
    except OSError as exc:  # a folder that does not exist, a file open in Excel, a full disk
        raise TrackerError(f"--out: cannot write {out}: {exc.strerror or exc}") from None
    typer.echo(f"wrote {len(claims)} claims to {out}")


@claims_app.command(
    "totals", help="Claimable money, and the claims and their amounts per state (as the board's ledger)."
)
def totals_cmd(
    ctx: typer.Context,
    now: str | None = typer.Option(None, help=NOW_HELP),
    fmt: Format = typer.Option(Format.table, "--format", help="table (in words), json or csv (codes)."),
) -> None:
    from claims.money import claimable, totals_by_state

    app = ctx_app(ctx)
    at = resolve_now(now, app.settings)
    money = claimable(app.engine, now=at)
    # claimable money counts only claims with an amount (claims.claimable); a state's sum leaves out the claims
    # without one, counted beside it
    # `amount` is what was claimed; `paid_amount` what the couriers paid, on the paid claims only
    paid_state = str(ClaimState.paid)
    rows: list[dict[str, Any]] = [
        {"state": CLAIMABLE, "claims": money.count, "amount": money.amount, "paid_amount": None, "without_amount": 0}
    ]
    rows += [
        {
            "state": r["state"],
            "claims": r["n"],
            # all of them without an amount: no sum at all (JSON and CSV too), never 0.00
            "amount": None if r["n"] == r["unknown"] > 0 else r["amount"],
            "paid_amount": r["paid"] if r["state"] == paid_state else None,
            "without_amount": r["unknown"],
        }
        for r in totals_by_state(app.engine, now=at)
    ]
    if fmt is Format.table:
        rows = [
            {
                **r,
                "amount": "unknown" if r["amount"] is None else format_money(r["amount"], app.settings.currency),
                "paid_amount": ""
                if r["paid_amount"] is None
                else format_money(r["paid_amount"], app.settings.currency),
            }
            for r in rows
        ]
    # the states in words in a table and an XLSX (claimable too: tracker.labels.STATES); JSON and CSV keep codes
    emit(rows, ["state", "claims", "amount", "paid_amount", "without_amount"], fmt, tz=app.settings.tz)


@claims_app.command("reconcile", help="Expected vs paid vs outstanding per courier and month.")
def reconcile_cmd(ctx: typer.Context, fmt: Format = typer.Option(Format.table, "--format")) -> None:
    from claims.reconcile import reconcile

    app = ctx_app(ctx)
    lines = reconcile(app.engine, tz=app.settings.tz)
    rows = [
        {
            "courier": x.courier,
            "month": x.month,
            "filed": x.filed,
            "expected": x.expected,
            "paid": x.paid,
            "outstanding": x.outstanding,
            "rejected": x.rejected,
            "short": x.short,
            "over": x.over,
            "mismatched": ", ".join(f"#{m['claim_id']} {m['waybill']}" for m in x.mismatches),
        }
        for x in lines
    ]
    emit(
        rows,
        ["courier", "month", "filed", "expected", "paid", "outstanding", "rejected", "short", "over", "mismatched"],
        fmt,
        tz=app.settings.tz,
        couriers=app.settings.couriers,  # the XLSX names them, as `claims list` does
    )
