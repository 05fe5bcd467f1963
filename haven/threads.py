"""Threads of their own for background database jobs.

Every meeting's `database_sync_to_async` call runs on asgiref's one shared sync thread,
one after another. A background job there (the retention run, the presence heartbeat)
holds up every meeting for as long as it runs. `DedicatedThread` gives such a job a
thread of its own, with Django's connection handling as `database_sync_to_async` does
it (stale connections closed before and after each call).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from django.db import close_old_connections

P = ParamSpec("P")
R = TypeVar("R")


class DedicatedThread:
    """One worker thread, made on first use, that runs one job's database calls."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._executor: ThreadPoolExecutor | None = None

    def __repr__(self) -> str:
        return f"<DedicatedThread {self.name}>"

    async def run(self, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run ``func(*args, **kwargs)`` on this thread and return its result."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"haven-{self.name}")
        call = functools.partial(_with_fresh_connections, func, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)


def _with_fresh_connections(func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    close_old_connections()
    try:
        return func(*args, **kwargs)
    finally:
        close_old_connections()
