"""Bounds for the push receiver (docs/operations-pushes.md): what a client may send, and for how long.

- `check_json` / `decode_json`: pure; a push JSON nested deeper than the limit is refused before it is decoded
  (the C decoder would otherwise recurse into a RecursionError), and only a JSON object is a push.
- `BodyLimit`: ASGI middleware in front of every push route. A Content-Length above the limit is answered 413
  before one byte of the body is read; a chunked body is counted as it streams and cut off at the limit (413);
  a body not complete within the body time-out is answered 408. The body read is then handed to the route.
- `guarded_protocol`: uvicorn's h11 protocol with a header deadline (a connection that has not sent complete
  request headers within the time-out is closed, however slowly it drips bytes) and a connection cap.
- `uvicorn_options`: the uvicorn settings that go with them (keep-alive, concurrency, header size).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from pathlib import Path
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from tracker.settings import PushIntakeConfig

log = logging.getLogger("tracker.push")

# a JSON string (skipped whole, escapes included) or a bracket; only brackets change the depth
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


class PushBodyError(ValueError):
    """A push body that is not a JSON object within the limits; the message says why, for the log line."""


def json_depth_exceeds(raw: bytes | str, limit: int) -> bool:
    """True when `raw` opens more than `limit` nested arrays/objects somewhere (strings are not counted)."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    depth = 0
    for match in _TOKENS.finditer(data):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


def decode_json(raw: bytes | str, *, max_depth: int) -> dict[str, Any]:
    """The push JSON object in `raw`; PushBodyError when too deep, not JSON, or not an object."""
    if json_depth_exceeds(raw, max_depth):
        raise PushBodyError(f"JSON nested deeper than {max_depth} levels")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise PushBodyError(f"not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise PushBodyError(f"not a JSON object but {type(body).__name__}")
    return body


async def _answer(send: Any, status: int, text: str) -> None:
    body = json.dumps({"code": status, "message": text}, ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    # Connection: close: the rest of an unread body is not waited for, the connection ends with the answer
    await send({"type": "http.response.start", "status": status, "headers": [*headers, (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class BodyLimit:
    """ASGI middleware: read an HTTP request body within `max_bytes` and `timeout` seconds, or answer 413/408."""

    def __init__(self, app: Any, *, max_bytes: int, timeout: float, max_header_bytes: int | None = None) -> None:
        self.app, self.max_bytes, self.timeout, self.max_header_bytes = app, max_bytes, timeout, max_header_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = f"{scope.get('path', '?')} from {(scope.get('client') or ('?',))[0]}"
        headers = scope.get("headers") or []
        # h11 bounds headers that arrive in pieces (h11_max_incomplete_event_size); a block that came whole in
        # one read (at most one socket read, 256 KiB) is measured here
        header_bytes = len(scope.get("raw_path") or b"") + sum(len(k) + len(v) + 4 for k, v in headers)
        if self.max_header_bytes is not None and header_bytes > self.max_header_bytes:
            log.warning("push %s rejected (431): headers of %d bytes", where, header_bytes)
            await _answer(send, 431, f"request headers over {self.max_header_bytes} bytes")
            return
        length = dict(headers).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            said = length[:20].decode("latin-1")
            log.warning("push %s rejected (413): Content-Length %s over %d bytes", where, said, self.max_bytes)
            await _answer(send, 413, f"body over {self.max_bytes} bytes")
            return
        chunks: list[bytes] = []
        size = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while True:
            try:
                message = await asyncio.wait_for(receive(), timeout=max(deadline - loop.time(), 0.001))
            except TimeoutError:
                log.warning("push %s rejected (408): body not received within %g s", where, self.timeout)
                await _answer(send, 408, f"body not received within {self.timeout:g} s")
                return
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                log.warning("push %s rejected (413): body over %d bytes", where, self.max_bytes)
                await _answer(send, 413, f"body over {self.max_bytes} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        chunks.clear()
        sent = False

        async def replay() -> Any:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: only a disconnect can come

        await self.app(scope, replay, send)


LINGER_SECONDS = 2.0  # after refusing an unread body: how long its rest is received and thrown away


class _LingeringTransport:
    """The connection's transport as the h11 protocol sees it. Closing while the client is still sending a
    body (a 413 or 408 answer) first ends our side (FIN) and throws away what still arrives for up to
    LINGER_SECONDS, then closes: closing at once would make the kernel reset the connection, and the client
    would lose the answer with its unread data. Nothing received meanwhile is kept."""

    def __init__(self, transport: Any, protocol: Any) -> None:
        self._transport, self._protocol = transport, protocol

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def close(self) -> None:
        protocol, real = self._protocol, self._transport
        if protocol.lingering or real.is_closing():
            return
        if protocol.conn.their_state is not h11.SEND_BODY or not real.can_write_eof():
            real.close()
            return
        protocol.lingering = True
        try:
            real.write_eof()
            real.resume_reading()
        except (OSError, RuntimeError):
            real.close()
            return
        protocol.loop.call_later(LINGER_SECONDS, real.close)

    def is_closing(self) -> bool:
        return self._protocol.lingering or self._transport.is_closing()


def guarded_protocol(limits: PushIntakeConfig) -> type[H11Protocol]:
    """uvicorn's h11 protocol, closing connections that send no complete request headers within
    `header_timeout_seconds` (counted from the connection or the previous answer, not reset by each byte)
    and any connection beyond `max_connections`; a refused unread body lingers (_LingeringTransport)."""

    class GuardedH11Protocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None
        _armed_cycle: Any = None
        lingering = False

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > limits.max_connections:
                log.warning("push receiver: %d connections open, closing a new one", len(self.connections) - 1)
                transport.close()
                return
            self.transport = _LingeringTransport(transport, self)  # type: ignore[assignment]
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self.lingering:
                return  # the rest of a refused body: thrown away
            super().data_received(data)

        def _arm(self) -> None:
            self._disarm()
            self._armed_cycle = self.cycle
            self._header_timer = self.loop.call_later(limits.header_timeout_seconds, self._header_deadline)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _header_deadline(self) -> None:
            self._header_timer = None
            waiting = self.cycle is self._armed_cycle and (self.cycle is None or self.cycle.response_complete)
            if waiting and not self.transport.is_closing():
                client = self.client[0] if self.client else "?"
                log.warning(
                    "push receiver: %s sent no complete request within %g s, closed",
                    client,
                    limits.header_timeout_seconds,
                )
                self.transport.close()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return GuardedH11Protocol


def uvicorn_options(limits: PushIntakeConfig) -> dict[str, Any]:
    """uvicorn.Config/uvicorn.run keyword arguments for a push receiver within `limits`."""
    return {
        "http": guarded_protocol(limits),
        "timeout_keep_alive": limits.keep_alive_seconds,
        "limit_concurrency": limits.max_concurrency,
        "h11_max_incomplete_event_size": limits.max_header_bytes,
    }


ENVIRONMENT_PROTOCOL = "tracker.push_guard:environment_protocol"  # uvicorn's `http` for `serve-push --workers N`


def __getattr__(name: str) -> Any:
    """`environment_protocol`: guarded_protocol for the [push] limits of the settings in TRACKER_CONFIG_DIR. A
    worker process started by uvicorn imports its protocol by name (a class made inside a function cannot be
    sent to it)."""
    if name == "environment_protocol":
        import os

        from tracker.settings import load_settings

        config_dir = os.environ.get("TRACKER_CONFIG_DIR")
        return guarded_protocol(load_settings(Path(config_dir) if config_dir else None).providers.push)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
