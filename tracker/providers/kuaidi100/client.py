"""Kuaidi100 client (docs/providers.md): real-time query and subscription.

I/O only; returns raw bodies."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

import httpx

from tracker.providers.http import ProviderClient, ProviderError
from tracker.providers.kuaidi100.autonumber import AutonumberReply, parse_autonumber
from tracker.providers.kuaidi100.sign import query_sign
from tracker.settings import ProviderConfig


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
        param = json.dumps(
            {"company": company, "number": number, "key": self.config.key, "parameters": parameters}, ensure_ascii=False
        )
        response = await self.guard.send(lambda: self.http.post("/poll", data={"schema": "json", "param": param}))
        self.spent["subscribe"] += 1
        return response.text

    async def autonumber(self, num: str, *, url: str = "") -> str:
        """GET 智能单号识别 `/autonumber/auto?num=&key=`: Kuaidi100's guesses of the number's company
        (tracker/providers/kuaidi100/autonumber.py reads it). `url`: the full endpoint when it is not on
        the configured base_url (the real one is https://www.kuaidi100.com/autonumber/auto)."""
        params = {"num": num, "key": self.config.key}
        response = await self.guard.send(lambda: self.http.get(url or "/autonumber/auto", params=params))
        return response.text


def ask_autonumber(config: ProviderConfig, number: str, *, url: str = "") -> AutonumberReply:
    """One blocking autonumber call for the CLI and the import (their own short-lived client);
    a network failure is an AutonumberReply with the error, not an exception."""

    async def go() -> str:
        client = Kuaidi100Client(config)
        try:
            return await client.autonumber(number, url=url)
        finally:
            await client.aclose()

    try:
        body = asyncio.run(go())
    except ProviderError as exc:  # named without the URL: its query holds the key
        cause = exc.__cause__
        if isinstance(cause, httpx.HTTPStatusError):
            why = f"HTTP {cause.response.status_code}"
        else:
            why = type(cause).__name__ if cause is not None else type(exc).__name__
        return AutonumberReply((), f"failed: {why} from {urlsplit(url or config.base_url).netloc}")
    return parse_autonumber(body)
