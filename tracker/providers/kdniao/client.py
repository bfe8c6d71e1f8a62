"""Kdniao client (docs/providers.md): 1002/8001 query and 1008 subscription. I/O only; raw bodies."""

from __future__ import annotations

import json

from tracker.providers.http import ProviderClient
from tracker.providers.kdniao.sign import data_sign

PATH = "/Ebusiness/EbusinessOrderHandle.aspx"
SUBSCRIBE_TYPES = ("1008", "8008")  # 物流跟踪订阅, 订阅(增值版) (§3.1)


class KdniaoClient(ProviderClient):
    provider = "kdniao"

    async def _call(self, request_type: str, data: dict[str, str]) -> str:
        request_data = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        form = {
            "RequestData": request_data,
            "EBusinessID": self.config.ebusiness_id,
            "RequestType": request_type,
            "DataSign": data_sign(request_data, self.config.app_key),  # form encoding URL-encodes it once
            "DataType": "2",
        }
        response = await self.guard.send(lambda: self.http.post(PATH, data=form))
        self.spent["subscribe" if request_type in SUBSCRIBE_TYPES else "query"] += 1
        return response.text

    async def fetch_track(
        self, shipper: str, code: str, *, customer_name: str | None = None, request_type: str | None = None
    ) -> str:
        """1002 (即时查询) or 8001 (在途监控, the configured default) for one waybill; the raw body."""
        data = {"OrderCode": "", "ShipperCode": shipper, "LogisticCode": code}
        if customer_name:
            data["CustomerName"] = customer_name
        with self.gate.asking(code):
            return await self._call(request_type or self.config.request_type, data)

    async def subscribe(
        self, shipper: str, code: str, *, customer_name: str | None = None, request_type: str = "8008"
    ) -> str:
        """8008 订阅(增值版) (or 1008), the 1002 envelope; the raw answer {EBusinessID, Success, Reason,
        UpdateTime, EstimatedDeliveryTime}. Pushes then go to the URL set in the Kdniao console."""
        data = {"OrderCode": "", "ShipperCode": shipper, "LogisticCode": code}
        if customer_name:
            data["CustomerName"] = customer_name
        return await self._call(request_type, data)
