"""The demo path in real processes: `unseen seed` into a temporary database, `unseen serve`, real HTTP."""

from __future__ import annotations

import re
import subprocess

import httpx
import pytest

from tests.servers import shop_server, unseen_command
from unseen.config import PROJECT_ROOT

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def seeded_url(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('demo')}/demo.db"
    args = ["seed", "--database-url", url, "--customers", "40", "--products", "80", "--months", "24",
            "--until", "2026-10-31"]
    first = subprocess.run(unseen_command(*args), cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "unseen seed: seeded" in first.stdout
    again = subprocess.run(unseen_command(*args), cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "already seeded" in again.stdout
    return url


def test_seed_refuses_a_bad_date_with_a_clear_message(tmp_path):
    result = subprocess.run(unseen_command("seed", "--database-url", f"sqlite:///{tmp_path}/x.db", "--until", "soon"),
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "expected YYYY-MM-DD" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_served_shop_answers_pages_and_api(seeded_url):
    from sqlalchemy import create_engine

    from tests.conftest import home_of

    # Jane logs in from her home, as a proxy in front of the shop passes it on (from anywhere else her login would
    # be unusual for her history, and the shop would ask for a one-time code).
    engine = create_engine(seeded_url)
    home = home_of(engine, "jane.doe@shoppers.example")
    engine.dispose()
    with shop_server(seeded_url, env={"UNSEEN_TRUSTED_PROXIES": '["127.0.0.1"]'}) as base, \
            httpx.Client(base_url=base, timeout=10, headers=home) as http:
        landing = http.get("/")
        assert landing.status_code == 200 and "Popular right now" in landing.text
        products = http.get("/api/products", params={"per_page": 5}).json()
        assert products["total"] >= 80 and len(products["items"]) == 5
        feed = http.get("/api/feed").json()
        assert feed["strategy"] == "popular" and feed["items"]
        first = products["items"][0]
        page = http.get(f"/products/{first['id']}")
        assert page.status_code == 200 and first["name"].split()[0] in page.text
        assert http.get("/docs").status_code == 200

        login = http.post("/api/auth/login", json={"email": "jane.doe@shoppers.example", "password": "shopper-demo"})
        assert login.status_code == 200 and login.json()["step_up_required"] is False
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        in_stock = next(p for p in http.get("/api/feed", params={"per_page": 50}).json()["items"] if p["stock"] > 0)
        cart = http.post("/api/cart", json={"product_id": in_stock["id"], "quantity": 1}, headers=headers)
        assert cart.status_code == 200 and cart.json()["count"] >= 1
        order = http.post("/api/orders", headers=headers)
        assert order.status_code == 201
        history = http.get("/api/orders", headers=headers).json()
        assert history[0]["id"] == order.json()["id"] and len(history) > 1  # the seeded history is there too

        html_orders = http.get("/orders", headers=headers)
        assert html_orders.status_code == 200 and re.search(rf"#{order.json()['id']}\b", html_orders.text)


def test_asgi_entry_point_serves_the_same_app(seeded_url, tmp_path):
    from tests.servers import free_port, wait_for_http
    import os

    port = free_port()
    process = subprocess.Popen(
        [str(PROJECT_ROOT / ".venv" / "bin" / "python") if (PROJECT_ROOT / ".venv").exists() else "python",
         "-m", "uvicorn", "api.main:app", "--port", str(port), "--log-level", "warning"],
        cwd=PROJECT_ROOT, env={**os.environ, "UNSEEN_DATABASE_URL": seeded_url},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", process=process)
        assert httpx.get(f"http://127.0.0.1:{port}/api/products").json()["total"] >= 80
    finally:
        process.terminate()
        process.wait(timeout=10)
