"""Run a starlette app with uvicorn in a background thread (sandbox for the demo/tests, push intake)."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import uvicorn


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class BackgroundServer:
    server: uvicorn.Server
    thread: threading.Thread
    url: str

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_background(app: Any, *, host: str = "127.0.0.1", port: int | None = None, **options: Any) -> BackgroundServer:
    """Start `app` on host:port (a free port when None) in a daemon thread; return once it listens. `options`
    go to uvicorn.Config (the push receiver's bounds: tracker/push_guard.py uvicorn_options)."""
    port = port or free_port(host)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"server on {host}:{port} did not start")
        time.sleep(0.02)
    return BackgroundServer(server, thread, f"http://{host}:{port}")
