"""The shop in a subprocess of its own, for simulations that are not given a running server.

``running_shop(database_url)`` starts ``unseen serve`` on a free loopback port with ``127.0.0.1`` as a trusted proxy
(so that the simulator can play many clients through ``X-Forwarded-For``), waits until ``/health`` answers, and stops
it afterwards. Stopping is a SIGTERM: uvicorn finishes the requests in flight and runs the shutdown, in which the
monitor writes every request it still holds, so the request log is complete once the context exits.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from unseen.config import PROJECT_ROOT

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"


class ServerError(RuntimeError):
    """The shop process did not start, or did not answer in time."""


@dataclass(frozen=True)
class ShopServer:
    url: str
    port: int
    pid: int
    log_path: Path | None


def free_port(host: str = LOOPBACK) -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def server_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of the shop process: ours, loopback as a trusted proxy, then the caller's overrides."""
    return {**os.environ, "UNSEEN_TRUSTED_PROXIES": json.dumps([LOOPBACK]), "PYTHONUNBUFFERED": "1",
            **(extra or {})}


def wait_until_healthy(url: str, process: subprocess.Popen, *, timeout_s: float, log_path: Path | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    see = f" (its output is in {log_path})" if log_path is not None else ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerError(f"the shop process exited with code {process.returncode} before answering "
                              f"{url}/health{see}")
        try:
            if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise ServerError(f"the shop at {url} did not answer /health within {timeout_s:.0f} s{see}")


def stop_process(process: subprocess.Popen, *, timeout_s: float = 60.0) -> None:
    """SIGTERM (a graceful shutdown that flushes the request log), then SIGKILL if it does not end in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        log.warning("the shop process %d did not stop within %.0f s; killing it (its last requests may be "
                    "missing from the request log)", process.pid, timeout_s)
        process.kill()
        process.wait()


@contextmanager
def running_shop(database_url: str, *, env: Mapping[str, str] | None = None, port: int | None = None,
                 log_path: Path | None = None, startup_timeout_s: float = 60.0,
                 stop_timeout_s: float = 60.0) -> Iterator[ShopServer]:
    """Run ``unseen serve`` against ``database_url`` on a loopback port for the duration of the ``with`` block.

    Parameters
    ----------
    database_url : str
        The SQLAlchemy URL the shop serves (it creates missing tables; it does not seed).
    env : mapping, optional
        Extra environment for the shop process (``UNSEEN_*`` settings), applied last.
    port : int, optional
        The port to listen on; a free one by default.
    log_path : Path, optional
        Where the server's own output goes; discarded when None.
    """
    port = port or free_port()
    url = f"http://{LOOPBACK}:{port}"
    command = [sys.executable, "-m", "unseen.cli", "serve", "--database-url", database_url, "--host", LOOPBACK,
               "--port", str(port), "--log-level", "warning"]
    output = open(log_path, "ab") if log_path is not None else subprocess.DEVNULL  # noqa: SIM115 - closed below
    try:
        # A file, never a pipe nobody reads: a chatty server would fill the pipe and stall.
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=server_environment(env), stdout=output,
                                   stderr=subprocess.STDOUT)
        try:
            wait_until_healthy(url, process, timeout_s=startup_timeout_s, log_path=log_path)
            yield ShopServer(url=url, port=port, pid=process.pid, log_path=log_path)
        finally:
            stop_process(process, timeout_s=stop_timeout_s)
    finally:
        if log_path is not None:
            output.close()
