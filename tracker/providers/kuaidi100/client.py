"""Kuaidi100 client (spec/providers.md §2.1, §2.2): real-time query and subscription.

I/O only; returns raw bodies."""

from __future__ import annotations

import json
import time

import httpx

from tracker.providers.http import Clock, Guard, Sleep, WaybillGate, make_http_client
from tracker.providers.kuaidi100.sign import query_sign
from tracker.settings import ProviderConfig


class Kuaidi100Client:
    provider = "kuaidi100"

    def __init__(
        self,
        config: ProviderConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep | None = None,
    ) -> None:
        self.config = config
        self.http = make_http_client(config, transport=transport)
        self.guard = Guard.from_config(self.provider, config, clock=clock, sleep=sleep)
        self.gate = WaybillGate(config.min_waybill_interval_minutes * 60, clock)

    async def fetch_track(self, com: str, num: str, *, phone: str | None = None) -> str:
        """POST /poll/query.do for one waybill; the raw reply body (errors come back as bodies too)."""
        self.gate.check(num)
        query = {"com": com, "num": num, "resultv2": "4", "show": "0", "order": "desc"}
        if phone:
            query["phone"] = phone
        param = json.dumps(query, ensure_ascii=False, separators=(",", ":"))
        sign = query_sign(param, self.config.key, self.config.customer)
        form = {"customer": self.config.customer, "sign": sign, "param": param}
        response = await self.guard.send(lambda: self.http.post("/poll/query.do", data=form))
        return response.text

    async def subscribe(self, company: str, number: str, callback_url: str, *, phone: str | None = None) -> str:
        """POST /poll: ask for pushes to `callback_url`, signed with the configured salt."""
        parameters = {"callbackurl": callback_url, "salt": self.config.salt, "resultv2": "4"}
        if phone:
            parameters["phone"] = phone
        param = json.dumps({"company": company, "number": number, "key": self.config.key,
                            "parameters": parameters}, ensure_ascii=False)  # fmt: skip
        response = await self.guard.send(lambda: self.http.post("/poll", data={"schema": "json", "param": param}))
        return response.text

    async def aclose(self) -> None:
        await self.http.aclose()
