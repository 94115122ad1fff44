"""``unseen demo`` (what ``make demo`` runs after seeding): the shop, the dashboards, the scheduler and a background
simulation start together as real processes, the printed URLs answer, the simulation drives traffic through the
shop, and when it stops nothing is left listening."""

from __future__ import annotations

import os
import re
import subprocess
import time

import httpx
import pytest

from tests.servers import free_port, unseen_command
from unseen.config import PROJECT_ROOT

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(300)
def test_demo_starts_every_part_and_stops_them(tmp_path):
    url = f"sqlite:///{tmp_path}/shop.db"
    env = {**os.environ, "UNSEEN_DATABASE_URL": url, "UNSEEN_RUNS_DIR": str(tmp_path / "runs"),
           "UNSEEN_MODELS_DIR": str(tmp_path / "models"), "UNSEEN_VAR_DIR": str(tmp_path / "var"),
           "UNSEEN_DASHBOARD_TOKEN": "demo-token", "COLUMNS": "200"}
    seeded = subprocess.run(unseen_command("seed", "--customers", "20", "--products", "40", "--months", "3"),
                            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    shop_port, dashboards_port = free_port(), free_port()
    demo = subprocess.Popen(unseen_command("demo", "--port", str(shop_port), "--dashboards-port", str(dashboards_port),
                                           "--simulation-seconds", "10", "--shoppers", "3", "--stop-after", "25"),
                            cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any("Stop with Ctrl-C" in line for line in lines):
            line = demo.stdout.readline()
            if not line:
                break
            lines.append(line)
        printed = "".join(lines)
        assert "Stop with Ctrl-C" in printed, printed
        shop = f"http://127.0.0.1:{shop_port}"
        monitoring = re.search(r"http://127\.0\.0\.1:\d+/voila/render/monitoring\.ipynb\?token=\S+", printed).group(0)
        assert monitoring.endswith("token=demo-token") and f":{dashboards_port}/" in monitoring
        assert f"{shop}/docs" in printed and "scheduler, simulation" in printed
        assert httpx.get(f"{shop}/health").status_code == 200
        assert httpx.get(f"http://127.0.0.1:{dashboards_port}/voila/render/monitoring.ipynb",
                         follow_redirects=False).status_code == 302  # the dashboards want the token
        # The background simulation plays through the running shop: its run folder fills with ground truth.
        deadline = time.monotonic() + 60
        truth = []
        while time.monotonic() < deadline and not truth:
            truth = [p for p in (tmp_path / "runs" / "simulations").glob("*/ground_truth.jsonl") if p.stat().st_size]
            time.sleep(0.5)
        assert truth, "the demo's simulation sent no request"
        remaining, _ = demo.communicate(timeout=150)
    finally:
        if demo.poll() is None:
            demo.kill()
    assert demo.returncode == 0, "".join(lines) + remaining
    assert "stopping the demo" in remaining
    for port in (shop_port, dashboards_port):  # every part was stopped with the demo
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
