"""Which flag proposes which claim, the one definition (docs/claims.md "Which flag proposes which claim"), pure:
`tracker claims propose`, a person opening claims on the board or the CLI, and the board's preview decide here."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from claims.engine import FREIGHT_INSURANCE
from claims.tables import ClaimTables
from tracker.status import Direction, FlagKind, TrackingStatus

# the flag kinds that can propose a claim by themselves (`claims propose` reads only their flags); a person
# opening claims also turns a suspected loss and a late shipment into one (decide, by_person)
PROPOSAL_KINDS: tuple[str, ...] = (
    FlagKind.lost,
    FlagKind.damaged,
    FlagKind.refused,
    FlagKind.returned,
)


# what happened to the parcel, not a state it is in: a flag of these kinds that the rules resolved because the
# parcel moved on (a refused parcel scanned 退回中, a damaged one delivered or sent back) still proposes its
# claim in `claims propose` (claims.service.propose), while the parcel has no claim of the types it proposes
LASTING_CLAIMS: dict[str, tuple[str, ...]] = {
    FlagKind.damaged: ("goods_lost",),
    FlagKind.refused: ("freight", FREIGHT_INSURANCE),
}
LASTING_KINDS: tuple[str, ...] = tuple(LASTING_CLAIMS)

# and what a person opening claims on the parcel may still open once the rules resolved its flag: a late
# shipment's ship_delay is owed when the shop is penalised, which comes after the parcel shipped (decide)
OPENED_LATER_KINDS: tuple[str, ...] = (*LASTING_KINDS, FlagKind.late_shipment)


def decide(kind: str, parcel: dict[str, Any], tables: ClaimTables, *, by_person: bool = False) -> tuple[str, str] | str:
    """(claim type, scenario) a flag of `kind` on `parcel` proposes, or why it proposes nothing.

    A suspected loss proposes nothing by itself (the loss is not confirmed); a person opening claims on it
    gets goods_lost, as the seed's next action says ("让快递把钱赔付给我们"). A late shipment proposes ship_delay
    only when a person opens it: the seed pays it once the shop was penalised for the delay. A confirmed loss or
    damage of a buyer's return parcel proposes nothing by itself either: only a pick-up return's is the shop's to
    claim.

    Freight insurance (聚划算大运险, seed 002) has two scenarios: 拒签 (refusal), the buyer refused the parcel, and
    退货 (return), the buyer's seven-day return ("七天无理由退机"). An insured outbound parcel refused, or back at
    the shop after the buyer refused it (returned, with a refused event), is the refusal scenario; one back for
    another reason (out of area, the buyer never reached) proposes no insurance claim; the return scenario is the
    buyer's return parcel arriving (insured_return below), never a flag. A buyer's return parcel refused at the
    return address proposes nothing: nothing came back to the shop; one read as returned neither: it was signed
    for by its sender, the buyer, or by no one the words name (a return the words say the shop signed for is
    delivered: tracker/ingest.py reads a return parcel's words for its direction), and a person checks."""
    if by_person and kind == FlagKind.lost_suspected:
        kind = FlagKind.lost
    proposals = tables.contracts.proposals
    if kind == FlagKind.refused and parcel["direction"] == str(Direction.ret):
        return "a return parcel refused: it goes back to the buyer, nothing to claim"
    if kind == FlagKind.returned and parcel["direction"] == str(Direction.ret):
        # signed for by its sender, the buyer, or by no one the words name as the shop (tracker/ingest.py reads a
        # return the shop signed for as delivered): which one, a person checks
        return "a return parcel returned: nothing to claim by itself; if the shop signed for it, open the claim by hand"
    if parcel["freight_insured"] and (
        kind == FlagKind.refused or (kind == FlagKind.returned and parcel.get("refused_at"))
    ):
        return FREIGHT_INSURANCE, "refusal"  # 拒签场景 (seed 002): the buyer refused it
    if parcel["freight_insured"] and kind == FlagKind.returned:
        # back for another reason (out of area, the buyer never reached) is not that scenario, and a claim made
        # wrongly would take the order's one claim (一个订单只能理赔一次): a person who knows the buyer refused opens it
        return (
            "insured and back, with no refusal in its history: 大运险 pays its refusal scenario (拒签) only; "
            "open the claim by hand if the buyer refused"
        )
    if kind in (FlagKind.lost, FlagKind.damaged) and parcel["direction"] == str(Direction.ret) and not by_person:
        # seed 002 pays the shop for a pick-up return's loss; seed 003 leaves a return the buyer sent to the
        # buyer and the courier. Which one it was is not in the data: a person opens the claim.
        return f"a return parcel {kind}: the shop claims only for a pick-up return; open the claim by hand"
    if kind == FlagKind.lost:
        return "goods_lost", "default"
    if kind == FlagKind.damaged:
        return "goods_lost", proposals.damaged_scenario
    if kind == FlagKind.late_shipment and by_person:
        # seed 002 pays 发货延迟 when the late shipment got the shop penalised (由于仓库发货延迟导致关联店铺被天猫或淘宝
        # 处罚): the buyer's 延迟发货 complaint upheld, which the data never says and the lead who opens it knows
        return "ship_delay", "default"
    if kind == FlagKind.refused or (kind == FlagKind.returned and parcel.get("refused_at")):
        # the refusal's own time: its first refused event (`refused_at`, none when a person resolved the refusal:
        # claims.service._refused_at); a parcel back at the shop after a late refusal is the freight claim too,
        # whether or not the refusal was ever flagged. A refusal read from words alone, still flagged, is timed
        # by its last event; once the rules resolved it (`gone`: the parcel moved on) that time is a later scan
        shipped, refused_at = parcel["shipped_at"], parcel.get("refused_at")
        if refused_at is None and not parcel.get("gone"):
            refused_at = parcel["last_event_at"]
        if refused_at is None:
            return "refused: when is not in its history, so lateness is unknown; open the claim by hand if it was late"
        if shipped is None:  # no 发货时间 in any import: the delivery's lateness cannot be told
            return (
                "refused: when it shipped is not known, so lateness is unknown; open the claim by hand if it was late"
            )
        if shipped and refused_at - shipped > timedelta(hours=proposals.late_delivery_hours):
            return "freight", "default"
        return "refused on time: no freight claim (the courier delivered within the promise)"
    return f"{kind}: no claim proposed automatically"


def insured_return(ret: dict[str, Any], order_parcels: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The parcel that carries the freight-insurance return scenario (退货场景) for a buyer's return parcel `ret`,
    or None: when the return was delivered back to the shop, its order's insured outbound parcel (the insurance,
    the category and the order amount are the order's: "订单金额"), else the return itself when it is marked
    insured. `order_parcels`: the other parcels of its order."""
    if ret["direction"] != str(Direction.ret) or ret["status"] != str(TrackingStatus.delivered):
        return None
    for parcel in order_parcels:
        if parcel["direction"] != str(Direction.ret) and parcel["freight_insured"]:
            return parcel
    return ret if ret["freight_insured"] else None
