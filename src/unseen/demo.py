"""``unseen demo`` (and ``make demo``): the whole system on one laptop, each part in its own process.

The shop (``unseen serve``), the operator dashboards (``unseen dashboards``), the retraining scheduler (``unseen
schedule``) and a background mixed simulation (``unseen simulate`` against the running shop, one run after another
with a new seed each time) start together; the URLs to open are printed once everything answers; Ctrl-C (or
SIGTERM) stops them all. The shop trusts loopback as a proxy so that the simulator can play many addresses through
``X-Forwarded-For``; a browser on this machine, which sends none, is still seen as itself.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.console import Console

from unseen.config import PROJECT_ROOT, Settings
from unseen.simulate.server import LOOPBACK, stop_process


@dataclass
class DemoOptions:
    host: str = LOOPBACK
    port: int = 8000
    dashboards_port: int = 8866
    simulate: bool = True
    schedule: bool = True
    simulation_s: float = 300.0
    shoppers: int = 40
    attacks: str = "all"
    seed: int = 11
    log_dir: Path | None = None


@dataclass
class Part:
    name: str
    command: list[str]
    process: subprocess.Popen | None = None
    log: Path | None = None
    extra: dict = field(default_factory=dict)


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "unseen.cli", *args]


def _wait(url: str, part: Part, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if part.process.poll() is not None:
            tail = part.log.read_text(errors="replace")[-1500:] if part.log and part.log.exists() else ""
            raise RuntimeError(f"{part.name} exited with {part.process.returncode} before answering {url}\n{tail}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{part.name} did not answer {url} within {timeout_s:.0f} s")


class Demo:
    """Start, watch and stop the demo's processes."""

    def __init__(self, settings: Settings, options: DemoOptions, console: Console | None = None):
        self.settings, self.options = settings, options
        self.console = console or Console()
        self.log_dir = Path(options.log_dir or settings.var_dir / "demo")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, "UNSEEN_DATABASE_URL": settings.resolved_database_url,
                    "UNSEEN_TRUSTED_PROXIES": json.dumps([LOOPBACK]), "PYTHONUNBUFFERED": "1"}
        self.shop_url = f"http://{options.host}:{options.port}"
        self.dashboards_url = f"http://{options.host}:{options.dashboards_port}"
        self.parts: dict[str, Part] = {}
        self.simulations = 0
        self._stopping = False

    def _start(self, name: str, command: list[str]) -> Part:
        part = Part(name, command, log=self.log_dir / f"{name}.log")
        with open(part.log, "ab") as output:
            part.process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=self.env, stdout=output,
                                            stderr=subprocess.STDOUT)
        self.parts[name] = part
        return part

    def _start_simulation(self) -> None:
        self.simulations += 1
        o = self.options
        self._start("simulation", _command(
            "simulate", "--url", self.shop_url, "--database-url", self.settings.resolved_database_url,
            "--duration", f"{o.simulation_s:g}", "--shoppers", str(o.shoppers), "--attacks", o.attacks,
            "--seed", str(o.seed + self.simulations - 1), "--no-evaluate"))

    def start(self) -> None:
        o = self.options
        shop = self._start("shop", _command("serve", "--host", o.host, "--port", str(o.port), "--log-level", "warning"))
        _wait(f"{self.shop_url}/health", shop)
        dashboards = self._start("dashboards", _command("dashboards", "--host", o.host,
                                                        "--port", str(o.dashboards_port)))
        _wait(f"{self.dashboards_url}/login", dashboards)
        if o.schedule:
            self._start("scheduler", _command("schedule"))
        if o.simulate:
            self._start_simulation()

    def urls(self) -> list[tuple[str, str]]:
        token = self.settings.resolved_dashboard_token
        running = [name for name in ("scheduler", "simulation") if name in self.parts]
        return [
            ("shop", f"{self.shop_url}/"),
            ("API docs", f"{self.shop_url}/docs"),
            ("monitoring dashboard", f"{self.dashboards_url}/voila/render/monitoring.ipynb?token={token}"),
            ("trends dashboard", f"{self.dashboards_url}/voila/render/trends.ipynb?token={token}"),
            ("dashboards index", f"{self.dashboards_url}/?token={token}"),
            ("customer login", f"jane.doe@shoppers.example / {self.settings.demo_customer_password.get_secret_value()}"),
            ("operator login", f"{self.settings.operator_email} / (UNSEEN_OPERATOR_PASSWORD)"),
            ("also running", ", ".join(running) or "-"),
            ("logs", str(self.log_dir)),
        ]

    def watch(self, *, until: float | None = None) -> None:
        """Keep the simulation going (a new run, with the next seed, when one ends) and stop when a part fails,
        when ``until`` (a ``time.monotonic()`` moment) passes, or on Ctrl-C / SIGTERM."""
        while not self._stopping and (until is None or time.monotonic() < until):
            for name in ("shop", "dashboards", "scheduler"):
                part = self.parts.get(name)
                if part is not None and part.process.poll() is not None:
                    raise RuntimeError(f"the {name} stopped (exit {part.process.returncode}); see {part.log}")
            simulation = self.parts.get("simulation")
            if simulation is not None and simulation.process.poll() is not None:
                self._start_simulation()
            time.sleep(0.5)

    def stop(self) -> None:
        self._stopping = True
        for name in ("simulation", "scheduler", "dashboards", "shop"):  # the shop last: it writes the last log rows
            part = self.parts.get(name)
            if part is not None and part.process is not None:
                stop_process(part.process, timeout_s=30)


def run_demo(settings: Settings, options: DemoOptions, console: Console | None = None,
             duration_s: float | None = None) -> None:
    demo = Demo(settings, options, console)

    def _terminate(_signum, _frame):
        demo._stopping = True

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        demo.start()
        demo.console.print("[bold]unseen demo: open these[/bold]")
        for name, value in demo.urls():  # one line each, never wrapped, so that a terminal can open the links
            demo.console.print(f"  {name:<21} {value}", soft_wrap=True, markup=False, highlight=False)
        demo.console.print("Stop with Ctrl-C.")
        demo.watch(until=None if duration_s is None else time.monotonic() + duration_s)
    except KeyboardInterrupt:
        pass
    finally:
        demo.console.print("stopping the demo ...")
        demo.stop()
        signal.signal(signal.SIGTERM, previous)
