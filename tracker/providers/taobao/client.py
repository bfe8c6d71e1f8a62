"""Taobao Open Platform client: `taobao.logistics.trace.search` through the TOP router, and the fetcher
that maps due parcels to their Taobao order. I/O only; returns raw bodies.

The API asks by ORDER (tid, with the seller's session), not by waybill: a parcel without a Taobao order
number cannot be asked about and is skipped with a one-line reason (the poller records it and tries the
parcel again after failure_retry_minutes, e.g. once an import has filled in the order number).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from tracker.providers.clients import DueParcel
from tracker.providers.http import ProviderClient, ProviderError
from tracker.providers.taobao.sign import top_sign, top_timestamp
from tracker.settings import CourierConfig, ProviderConfig

METHOD = "taobao.logistics.trace.search"
PATH = "/router/rest"  # real: https://eco.taobao.com/router/rest (base_url https://eco.taobao.com)
_TID = re.compile(r"^\d{6,20}$")  # Taobao/Tmall order numbers are all digits


class NoOrderId(ProviderError):
    """A parcel the Taobao API cannot be asked about: it has no (usable) Taobao order number."""


class TaobaoClient(ProviderClient):
    provider = "taobao"

    def __init__(self, config: ProviderConfig, *, wall: Callable[[], datetime] | None = None, **kw: Any) -> None:
        super().__init__(config, **kw)
        self.wall = wall or (lambda: datetime.now(UTC))  # the signed `timestamp`; TOP refuses it 10 min off

    def params(self, tid: str, *, seller_nick: str | None = None, sub_tids: Sequence[str] = ()) -> dict[str, str]:
        """The signed form of one trace query."""
        cfg = self.config
        params = {
            "method": METHOD,
            "app_key": cfg.app_key,
            "session": cfg.session,
            "timestamp": top_timestamp(self.wall()),
            "format": "json",
            "v": "2.0",
            "sign_method": cfg.sign_method,
            "tid": tid,
        }
        if seller_nick:
            params["seller_nick"] = seller_nick
        if sub_tids:
            params["is_split"] = "1"
            params["sub_tid"] = ",".join(sub_tids)
        params["sign"] = top_sign(params, cfg.app_secret, cfg.sign_method)
        return params

    async def trace_search(self, tid: str, *, seller_nick: str | None = None, sub_tids: Sequence[str] = ()) -> str:
        """POST the TOP router for one order; the raw reply body (errors come back as bodies too)."""
        form = self.params(tid, seller_nick=seller_nick, sub_tids=sub_tids)
        with self.gate.asking(tid):
            response = await self.guard.send(lambda: self.http.post(PATH, data=form))
        return response.text


def order_number(parcel: DueParcel) -> str:
    """The Taobao order (tid) to ask about: the first of the parcel's order numbers (orders merged into one
    waybill share its trace). NoOrderId when there is none or it is not a Taobao order number."""
    first = (parcel.order_id or "").split(",")[0].strip()
    if not first:
        raise NoOrderId(
            f"taobao: waybill {parcel.waybill} skipped: no order number on the parcel "
            f"(Taobao's trace API asks by order, not by waybill)"
        )
    if not _TID.match(first):
        raise NoOrderId(f"taobao: waybill {parcel.waybill} skipped: order {first!r} is not a Taobao order number")
    return first


class TaobaoFetcher:
    provider = "taobao"
    batch_size = 1  # one order a call

    def __init__(self, client: TaobaoClient, couriers: Mapping[str, CourierConfig]) -> None:
        self.client, self.couriers = client, couriers

    async def fetch(self, batch: list[DueParcel]) -> list[str]:
        out = []
        for parcel in batch:
            tid = order_number(parcel)
            nick = parcel.shop or self.client.config.seller_nick or None
            out.append(await self.client.trace_search(tid, seller_nick=nick))
        return out

    async def aclose(self) -> None:
        await self.client.aclose()
