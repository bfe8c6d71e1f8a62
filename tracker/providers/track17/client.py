"""17TRACK client (docs/providers.md §17TRACK): register and gettrackinfo on the v2.2 or v2.4 paths
(config `api_version`; both answer in the same shape), at most 40 numbers a request, 3 requests a second per
key. I/O only; returns raw bodies."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from tracker.providers.http import ProviderClient, ProviderError
from tracker.settings import ProviderConfig

MAX_NUMBERS = 40  # per request (§4.1; error -18010014 above it)
NOT_REGISTERED = -18019902  # gettrackinfo rejection for a number never registered [I, sandbox code]


class Track17Client(ProviderClient):
    provider = "track17"

    def __init__(self, config: ProviderConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        self.batch = min(config.batch_size, MAX_NUMBERS)

    async def _post(self, path: str, items: list[dict[str, object]]) -> str:
        if len(items) > MAX_NUMBERS:
            raise ProviderError(f"track17: {len(items)} numbers in one request; the limit is {MAX_NUMBERS}")
        body = json.dumps(items)
        headers = {"17token": self.config.key, "content-type": "application/json"}
        url = f"/track/{self.config.api_version}/{path}"
        response = await self.guard.send(lambda: self.http.post(url, content=body, headers=headers))
        self.spent["register" if path == "register" else "query"] += len(items)
        return response.text

    @staticmethod
    def _items(numbers: Sequence[str], carriers: dict[str, int | None] | None) -> list[dict[str, object]]:
        items: list[dict[str, object]] = []
        for number in numbers:
            item: dict[str, object] = {"number": number}
            if carriers and carriers.get(number):
                item["carrier"] = carriers[number]
            items.append(item)
        return items

    async def register(self, numbers: Sequence[str], carriers: dict[str, int | None] | None = None) -> list[str]:
        """POST /register in chunks of 40; the raw reply bodies."""
        return [await self._post("register", self._items(chunk, carriers)) for chunk in _chunks(numbers, self.batch)]

    async def get_track_info(self, numbers: Sequence[str], carriers: dict[str, int | None] | None = None) -> str:
        """POST /gettrackinfo for at most 40 numbers; numbers 17TRACK does not know yet are registered and
        asked again, so the body returned covers them too."""
        body = await self._post("gettrackinfo", self._items(numbers, carriers))
        missing = _unregistered(body)
        if missing:
            await self.register(missing, carriers)
            body = await self._post("gettrackinfo", self._items(numbers, carriers))
        return body


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _unregistered(body: str) -> list[str]:
    try:
        rejected = json.loads(body)["data"]["rejected"]
        return [str(r["number"]) for r in rejected if r.get("error", {}).get("code") == NOT_REGISTERED]
    except (ValueError, KeyError, TypeError):
        return []
