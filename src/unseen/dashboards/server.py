"""``unseen dashboards``: Voila serving ``dashboards/`` on loopback, behind the operator's token.

Voila's own tree page is the index (the dashboards and their one-line descriptions in ``dashboards/README.md``);
every page and every kernel call needs the token (``?token=...`` once sets a cookie; the login page takes it as a
password). The kernels inherit this process's environment, so ``UNSEEN_DATABASE_URL`` and the other settings given
here are the ones the dashboards read.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from unseen.config import PROJECT_ROOT
from unseen.simulate.server import free_port, stop_process

DASHBOARDS_DIR = PROJECT_ROOT / "dashboards"
DASHBOARDS = ("monitoring", "trends")
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class DashboardServer:
    url: str
    token: str
    pid: int

    def page(self, name: str, *, with_token: bool = True) -> str:
        """The URL of one dashboard (``monitoring`` or ``trends``), with the token unless told otherwise."""
        if name not in DASHBOARDS:
            raise ValueError(f"unknown dashboard {name!r}; expected one of: {', '.join(DASHBOARDS)}")
        return f"{self.url}/voila/render/{name}.ipynb" + (f"?token={self.token}" if with_token else "")

    @property
    def index(self) -> str:
        return f"{self.url}/?token={self.token}"


def voila_command(*, host: str, port: int, token: str, root: Path = DASHBOARDS_DIR) -> list[str]:
    """The Voila command line: the dashboards folder, no browser, the token required, no tracebacks shown."""
    if not token:
        raise ValueError("the dashboards need a token: set UNSEEN_DASHBOARD_TOKEN or UNSEEN_OPERATOR_PASSWORD")
    return [sys.executable, "-m", "voila", str(root), "--no-browser", f"--Voila.ip={host}", f"--port={port}",
            f"--token={token}", "--show_tracebacks=False", "--VoilaConfiguration.file_allowlist=[]",
            "--Voila.open_browser=False", "--ServerApp.disable_check_xsrf=False",
            # A kernel per dashboard runs it ahead of the next visitor, so a page opens without waiting for the
            # kernel to start and import (seconds); a new one is heated behind each page taken.
            "--preheat_kernel=True", "--pool_size=1"]


def wait_until_up(url: str, process: subprocess.Popen, *, timeout_s: float, log_path: Path | None) -> None:
    import time

    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:] if log_path and log_path.exists() else ""
            raise RuntimeError(f"Voila exited with {process.returncode} before answering {url}\n{tail}")
        try:
            if httpx.get(f"{url}/login", timeout=1.0).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"Voila did not answer {url} within {timeout_s:.0f} s")


@contextmanager
def running_dashboards(*, token: str, env: Mapping[str, str] | None = None, port: int | None = None,
                       log_path: Path | None = None, startup_timeout_s: float = 60.0) -> Iterator[DashboardServer]:
    """Voila on a loopback port for the duration of the ``with`` block (tests, ``make demo``, benchmarks)."""
    port = port or free_port()
    url = f"http://{LOOPBACK}:{port}"
    output = open(log_path, "ab") if log_path is not None else subprocess.DEVNULL  # noqa: SIM115 - closed below
    try:
        process = subprocess.Popen(voila_command(host=LOOPBACK, port=port, token=token), cwd=PROJECT_ROOT,
                                   env={**os.environ, **(env or {})}, stdout=output, stderr=subprocess.STDOUT)
        try:
            wait_until_up(url, process, timeout_s=startup_timeout_s, log_path=log_path)
            yield DashboardServer(url=url, token=token, pid=process.pid)
        finally:
            stop_process(process, timeout_s=20)
    finally:
        if log_path is not None:
            output.close()
