"""Screenshots of every board page for the README: `make screenshots`.

Runs the demo (`tracker demo --no-board`, the data `make run` shows) into a temporary SQLite file at a pinned
clock, records a few filed and paid claims through the claims service as a lead would (so the ledger and the
money-recovered chart have something to show), starts the board with a login required, logs in as a lead
in Chromium and saves each page (overview, queue, parcel, claims ledger, scorecards, alerts) at 1440x900
and 390x844 as docs/screenshots/<page>-<desktop|phone>.png (the whole page, top to bottom).

    python bench/screenshots.py [--out docs/screenshots] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.browser import (  # noqa: E402
    CHROMIUM,
    DESKTOP,
    FLAGS,
    PAGES,
    PHONE,
    board_server,
    log_in,
    login_config,
    need_browser,
    rendered,
    whole_page,
)

DEMO_NOW_LOCAL = "2026-11-23 12:00"  # China time: the demo's clock, so the pictures come out the same each run
DEMO_NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
USER, PASSWORD = "李娜", "screenshots-pw"
SIZES = {"desktop": DESKTOP, "phone": PHONE}


def build_demo(workdir: Path, config: Path) -> str:
    """The demo's database at DEMO_NOW, plus a few claims filed and paid. Returns its URL."""
    url = f"sqlite:///{workdir / 'tracker.db'}"
    env = {**os.environ, "TRACKER_CONFIG_DIR": str(config), "TRACKER_DATABASE_URL": url}
    tracker = Path(sys.executable).with_name("tracker")
    command = [str(tracker), "demo", "--no-board", "--now", DEMO_NOW_LOCAL]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"the demo failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    settle_some_claims(url)
    return url


# what a lead gives a claim lacking inputs in the ledger's form (no export has a supplier value; the demo's
# courier bill brings the freight): the supplier's invoice says 60% of the goods value, a freight 12.00 each way
GIVEN = {"forward_freight": Decimal("12.00"), "reverse_freight": Decimal("12.00"), "fixed_amount": Decimal("100.00")}
SUPPLIER_SHARE = Decimal("0.6")


def settle_some_claims(url: str) -> None:
    """Give the first twelve claims lacking inputs (soonest deadline first) what they lack, then file the first
    eight drafts and record the courier's payout on five of them, one short, through claims.service: what a lead
    does in the ledger."""
    from sqlalchemy import select

    from claims.service import file_claim, inputs_missing, pay_claim, set_input
    from claims.tables import tables_of
    from tracker.settings import load_settings
    from tracker.storage.db import make_engine
    from tracker.storage.rows import ClaimRow, ParcelRow

    claim, parcel = ClaimRow.__table__, ParcelRow.__table__
    engine = make_engine(url)
    tables = tables_of(load_settings(ROOT / "config"))
    try:
        with engine.connect() as conn:
            lacking = conn.execute(
                select(claim.c.id, claim.c.formula, claim.c.missing, parcel.c.goods_value)
                .join(parcel, parcel.c.id == claim.c.parcel_id)
                .where(claim.c.state == "needs_config", claim.c.filing_closes_at >= DEMO_NOW)
                .order_by(claim.c.filing_closes_at, claim.c.id)
                .limit(12)
            ).all()
        for claim_id, formula, missing, goods in lacking:
            supplier = None if goods is None else (goods * SUPPLIER_SHARE).quantize(Decimal("0.01"))
            given = {**GIVEN, "supplier_value": supplier, "goods_value": goods}
            inputs = {name: given.get(name) for name in inputs_missing(formula, missing)}
            if all(value is not None for value in inputs.values()):
                set_input(engine, claim_id=claim_id, tables=tables, actor=USER, now=DEMO_NOW, **inputs)
        with engine.connect() as conn:
            drafts = conn.execute(
                select(claim.c.id, claim.c.courier, claim.c.amount)
                .where(claim.c.state == "draft", claim.c.filing_closes_at >= DEMO_NOW)
                .order_by(claim.c.filing_closes_at, claim.c.id)
                .limit(8)
            ).all()
        for i, (claim_id, courier, amount) in enumerate(drafts):
            file_claim(
                engine, claim_id=claim_id, reference_no=f"{courier.upper()}-PC-{2611230 + i}", actor=USER, now=DEMO_NOW
            )
            if i < 5 and amount is not None:
                paid = amount if i != 2 else (amount * Decimal("0.6")).quantize(Decimal("0.01"))
                pay_claim(engine, claim_id=claim_id, amount=paid, actor=USER, now=DEMO_NOW)
    finally:
        engine.dispose()


def a_parcel_with_a_claim(url: str) -> str:
    """The waybill of a parcel with an open exception and a claim: the parcel page at its fullest."""
    from sqlalchemy import select

    from tracker.storage.db import make_engine
    from tracker.storage.rows import ClaimRow, FlagRow, ParcelRow

    parcel, claim, flag = ParcelRow.__table__, ClaimRow.__table__, FlagRow.__table__
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                select(parcel.c.waybill)
                .join(claim, claim.c.parcel_id == parcel.c.id)
                .join(flag, flag.c.parcel_id == parcel.c.id)
                .order_by(claim.c.filing_closes_at, parcel.c.id)
                .limit(1)
            ).scalar_one()
    finally:
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--keep", type=Path, help="Work in this directory (kept) instead of a temporary one.")
    args = parser.parse_args()
    need_browser()
    from playwright.sync_api import sync_playwright

    tmp = None if args.keep else tempfile.TemporaryDirectory()
    workdir = args.keep or Path(tmp.name)  # type: ignore[union-attr]
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        config = workdir / "config"
        if not config.exists():
            login_config(config, user=USER, password=PASSWORD)
        if not (workdir / "tracker.db").exists():
            print("running the demo ...", flush=True)
            url = build_demo(workdir, config)
        else:
            url = f"sqlite:///{workdir / 'tracker.db'}"
        waybill = a_parcel_with_a_claim(url)
        args.out.mkdir(parents=True, exist_ok=True)
        with board_server(database_url=url, config_dir=config, now=DEMO_NOW) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
            try:
                for size, viewport in SIZES.items():
                    for page_def in PAGES:
                        context = browser.new_context(
                            viewport=viewport, device_scale_factor=1, locale="zh-CN", timezone_id="Asia/Shanghai"
                        )
                        page = context.new_page()
                        path = page_def.path + (f"?waybill={waybill}" if page_def.name == "parcel" else "")
                        log_in(page, base, user=USER, password=PASSWORD, path=path)
                        rendered(page, page_def.content)
                        page.wait_for_timeout(800)  # charts draw after the script run ends
                        target = args.out / f"{page_def.name}-{size}.png"
                        whole_page(page, target, viewport)
                        print(f"{target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
                        context.close()
            finally:
                browser.close()
    finally:
        if tmp:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
