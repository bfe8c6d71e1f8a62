"""Which flag proposes which claim, the one definition (docs/claims.md "Which flag proposes which claim"), pure:
`tracker claims propose`, a person opening claims on the board or the CLI, and the board's preview decide here."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from claims.engine import FREIGHT_INSURANCE
from claims.tables import ClaimTables
from tracker.status import Direction, FlagKind

# the flag kinds that can propose a claim by themselves (`claims propose` reads only their flags); a person
# opening claims also turns a suspected loss into one (decide, by_person)
PROPOSAL_KINDS: tuple[str, ...] = (
    FlagKind.lost,
    FlagKind.damaged,
    FlagKind.late_shipment,
    FlagKind.refused,
    FlagKind.returned,
)


def decide(kind: str, parcel: dict[str, Any], tables: ClaimTables, *, by_person: bool = False) -> tuple[str, str] | str:
    """(claim type, scenario) a flag of `kind` on `parcel` proposes, or why it proposes nothing.

    A suspected loss proposes nothing by itself (the loss is not confirmed); a person opening claims on it
    gets goods_lost, as the seed's next action says ("让快递把钱赔付给我们"). A confirmed loss or damage of a
    buyer's return parcel proposes nothing by itself either: only a pick-up return's is the shop's to claim."""
    if by_person and kind == FlagKind.lost_suspected:
        kind = FlagKind.lost
    proposals = tables.contracts.proposals
    if parcel["freight_insured"] and kind in (FlagKind.returned, FlagKind.refused):
        return FREIGHT_INSURANCE, "return" if kind == FlagKind.returned else "refusal"
    if kind in (FlagKind.lost, FlagKind.damaged) and parcel["direction"] == str(Direction.ret) and not by_person:
        # seed 002 pays the shop for a pick-up return's loss; seed 003 leaves a return the buyer sent to the
        # buyer and the courier. Which one it was is not in the data: a person opens the claim.
        return f"a return parcel {kind}: the shop claims only for a pick-up return; open the claim by hand"
    if kind == FlagKind.lost:
        return "goods_lost", "default"
    if kind == FlagKind.damaged:
        return "goods_lost", proposals.damaged_scenario
    if kind == FlagKind.late_shipment:
        return "ship_delay", "default"
    if kind == FlagKind.refused:
        shipped, refused_at = parcel["shipped_at"], parcel["last_event_at"]
        if shipped and refused_at and refused_at - shipped > timedelta(hours=proposals.late_delivery_hours):
            return "freight", "default"
        return "refused on time: no freight claim (the courier delivered within the promise)"
    return f"{kind}: no claim proposed automatically"
