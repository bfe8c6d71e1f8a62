"""tracker.diagnostics: the worker's event-loop watchdog and stack reports, on a real event loop here."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from tracker.diagnostics import LoopWatchdog, thread_stacks, where_waiting


def test_a_blocked_event_loop_is_reported_once_with_the_blocking_call(caplog: pytest.LogCaptureFixture) -> None:
    def blocking_database_call() -> None:
        time.sleep(1.2)  # what a synchronous call on the loop does: nothing else runs meanwhile

    async def main() -> None:
        watchdog = LoopWatchdog(asyncio.get_running_loop(), 0.4)
        watchdog.start()
        await asyncio.sleep(0.3)  # running freely: no report
        assert not caplog.records
        blocking_database_call()
        await asyncio.sleep(0.5)  # running again: the report was made while it was stuck, once
        watchdog.stop()

    with caplog.at_level(logging.WARNING, logger="tracker.diagnostics"):
        asyncio.run(main())
    reports = [r.getMessage() for r in caplog.records if "event loop has not run" in r.getMessage()]
    assert len(reports) == 1
    assert "blocking_database_call" in reports[0] and "thread MainThread:" in reports[0]


def test_where_waiting_names_each_task_and_the_call_it_waits_in() -> None:
    async def poll_provider() -> None:
        async def run() -> None:
            await asyncio.sleep(10)

        inner = asyncio.create_task(run(), name="fetch")
        await asyncio.sleep(0)
        report = where_waiting(inside="poll_provider")
        inner.cancel()
        assert "task fetch:" in report and "poll_provider.<locals>.run" in report
        assert "task main:" not in where_waiting(inside="nowhere")

    async def main() -> None:
        await asyncio.create_task(poll_provider(), name="main")

    asyncio.run(main())
    assert "thread MainThread:" in thread_stacks()
