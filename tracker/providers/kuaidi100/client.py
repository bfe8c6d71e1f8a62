"""Kuaidi100 client (spec/providers.md §2.1, §2.2): real-time query and subscription.

I/O only; returns raw bodies."""

from __future__ import annotations

import json

from tracker.providers.http import ProviderClient
from tracker.providers.kuaidi100.sign import query_sign


class Kuaidi100Client(ProviderClient):
    provider = "kuaidi100"

    async def fetch_track(self, com: str, num: str, *, phone: str | None = None) -> str:
        """POST /poll/query.do for one waybill; the raw reply body (errors come back as bodies too)."""
        query = {"com": com, "num": num, "resultv2": "4", "show": "0", "order": "desc"}
        if phone:
            query["phone"] = phone
        param = json.dumps(query, ensure_ascii=False, separators=(",", ":"))
        sign = query_sign(param, self.config.key, self.config.customer)
        form = {"customer": self.config.customer, "sign": sign, "param": param}
        with self.gate.asking(num):
            response = await self.guard.send(lambda: self.http.post("/poll/query.do", data=form))
        self.spent["query"] += 1
        return response.text

    async def subscribe(self, company: str, number: str, callback_url: str, *, phone: str | None = None) -> str:
        """POST /poll (schema=json, no sign; the key travels in param): ask for pushes to `callback_url`,
        signed with the configured salt; the raw answer {result, returnCode, message} (§2.2)."""
        parameters = {"callbackurl": callback_url, "salt": self.config.salt, "resultv2": "4"}
        if phone:
            parameters["phone"] = phone
        param = json.dumps({"company": company, "number": number, "key": self.config.key,
                            "parameters": parameters}, ensure_ascii=False)  # fmt: skip
        response = await self.guard.send(lambda: self.http.post("/poll", data={"schema": "json", "param": param}))
        self.spent["subscribe"] += 1
        return response.text
