"""A small closed-loop HTTP load generator for the benchmarks: N concurrent clients over loopback, bounded in time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import numpy as np


LOOPBACK_ALLOWED = {"UNSEEN_ALLOWLIST": '["127.0.0.1"]'}
"""Server environment for a benchmark whose whole load comes from 127.0.0.1."""


@dataclass
class LoadResult:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: np.ndarray

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if len(self.latencies_ms) else float("nan")


async def _worker(client: httpx.AsyncClient, call: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]],
                  worker: int, stop_at: float, latencies: list[float], errors: list[int]) -> None:
    i = 0
    while time.perf_counter() < stop_at:
        started = time.perf_counter()
        response = await call(client, worker * 1_000_000 + i)
        latencies.append((time.perf_counter() - started) * 1000)
        if response.status_code >= 400:
            errors.append(response.status_code)
        i += 1


async def _run(base_url: str, name: str, call, *, concurrency: int, seconds: float, warmup: float) -> LoadResult:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
        if warmup:
            await asyncio.gather(*[_worker(client, call, w, time.perf_counter() + warmup, [], [])
                                   for w in range(concurrency)])
        latencies: list[float] = []
        errors: list[int] = []
        started = time.perf_counter()
        await asyncio.gather(*[_worker(client, call, w, started + seconds, latencies, errors)
                               for w in range(concurrency)])
        elapsed = time.perf_counter() - started
    return LoadResult(name, len(latencies), len(errors), elapsed, np.asarray(latencies))


def run_load(base_url: str, name: str, call, *, concurrency: int = 8, seconds: float = 10.0,
             warmup: float = 1.0) -> LoadResult:
    """Drive ``call(client, i)`` from ``concurrency`` clients for ``seconds`` (after a short warm-up)."""
    return asyncio.run(_run(base_url, name, call, concurrency=concurrency, seconds=seconds, warmup=warmup))
