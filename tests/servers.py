"""Real servers for tests: a throwaway PostgreSQL cluster and the shop in its own process."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from unseen.config import PROJECT_ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, *, timeout: float = 30.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server process exited with {process.returncode} before answering {url}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"no answer from {url} within {timeout} s")


def unseen_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "unseen.cli", *args]


@contextmanager
def shop_server(database_url: str, *, env: dict[str, str] | None = None) -> Iterator[str]:
    """``unseen serve`` in a subprocess on a free loopback port; yields its base URL and stops it afterwards."""
    port = free_port()
    # A model registry of its own, so that models trained in the working copy do not leak into a test.
    models = tempfile.mkdtemp(prefix="unseen-models-")
    process = subprocess.Popen(
        unseen_command("serve", "--database-url", database_url, "--port", str(port), "--log-level", "warning"),
        cwd=PROJECT_ROOT, env={**os.environ, "UNSEEN_MODELS_DIR": models, **(env or {})}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/health", process=process)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(models, ignore_errors=True)


@contextmanager
def temporary_postgres() -> Iterator[str]:
    """A PostgreSQL server of Debian's ``postgresql`` package in a temporary folder, on a free loopback port.

    ``make test`` installs the package; as root the server runs as the ``postgres`` user (initdb refuses root).
    Yields a SQLAlchemy URL.
    """
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not binaries:
        raise RuntimeError("PostgreSQL server binaries are missing: run `make test-deps` (apt-get install postgresql)")
    bindir = Path(binaries[-1]).parent
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="unseen-pg-"))
    data = root / "data"
    if as_postgres:
        shutil.chown(root, "postgres")
    port = free_port()
    subprocess.run([*as_postgres, str(bindir / "initdb"), "-D", str(data), "-U", "unseen", "--auth=trust",
                    "-E", "UTF8", "--no-sync"], check=True, capture_output=True)
    server = subprocess.Popen(
        [*as_postgres, str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(root),
         "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"postgresql+psycopg://unseen@127.0.0.1:{port}/postgres"
    try:
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(f"host=127.0.0.1 port={port} user=unseen dbname=postgres", connect_timeout=1).close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the temporary PostgreSQL server did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(root, ignore_errors=True)
