"""How fast the operator dashboards are in a real browser: time to first render of each, and the monitoring
dashboard's refresh period as the browser sees it, while a simulation drives traffic through the shop.

    python bench/bench_dashboards.py [--loads 3 --watch 20 --customers 200]

Seeds a temporary shop, starts it (``unseen serve``) and Voila (``unseen dashboards``' command) on it, and plays
shoppers and attacks through the shop in the background (``unseen simulate --url``), so that every refresh has new
rows to read. Chromium (Debian's) loads each dashboard ``--loads`` times in a fresh page: the time from navigation
to the first complete render (monitoring: the status line of its first refresh; trends: its figures and tables
drawn), ``--gap`` seconds apart so that Voila has heated the next kernel (it runs each dashboard ahead of its next
visitor), as when an operator opens a dashboard. Then it watches one monitoring page for ``--watch`` seconds and records, in the page, the moment each
refresh lands (a MutationObserver on the status line): the intervals between them are the refresh period (the
target is 2 s or less). Times come from this run; nothing is compared with a stored figure.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.conftest import CHROMIUM_ARGS, chromium_path  # noqa: E402
from tests.servers import unseen_command  # noqa: E402
from unseen.dashboards.server import running_dashboards  # noqa: E402
from unseen.simulate.server import running_shop  # noqa: E402

TOKEN = "bench-token"
READY = {
    "monitoring": ".unseen-refreshed",
    "trends": ".unseen-trends-ready[data-state='ready']",
}

WATCH = """() => {
  window.__ticks = [];
  const seen = () => {
    const el = document.querySelector('.unseen-refreshed');
    if (el && (window.__ticks.length === 0 || window.__ticks[window.__ticks.length - 1][0] !== el.dataset.tick)) {
      window.__ticks.push([el.dataset.tick, performance.now()]);
    }
  };
  new MutationObserver(seen).observe(document.body, {subtree: true, childList: true, characterData: true,
                                                     attributes: true});
  seen();
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loads", type=int, default=3, help="fresh page loads per dashboard")
    parser.add_argument("--watch", type=float, default=20.0, help="seconds of refreshes to record")
    parser.add_argument("--gap", type=float, default=30.0,
                        help="seconds between loads, for Voila to heat the next kernel (0: back to back)")
    parser.add_argument("--customers", type=int, default=200, help="customers of the seeded shop")
    args = parser.parse_args()
    console = Console()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="unseen-bench-dash-") as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        console.print("seeding a temporary shop ...")
        subprocess.run(unseen_command("seed", "--database-url", url, "--customers", str(args.customers)),
                       cwd=ROOT, check=True, capture_output=True)
        env = {"UNSEEN_DATABASE_URL": url, "UNSEEN_RUNS_DIR": f"{tmp}/runs", "UNSEEN_MODELS_DIR": f"{tmp}/models"}
        with running_shop(url, env=env) as shop, running_dashboards(token=TOKEN, env=env) as dashboards:
            duration = args.loads * (60 + args.gap) + args.watch + 60
            simulation = subprocess.Popen(
                unseen_command("simulate", "--url", shop.url, "--database-url", url, "--duration", f"{duration:.0f}",
                               "--shoppers", "30", "--attacks", "all", "--no-evaluate"),
                cwd=ROOT, env={**__import__("os").environ, **env}, stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT)
            try:
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
                    renders: dict[str, list[float]] = {name: [] for name in READY}
                    for _ in range(args.loads):
                        time.sleep(args.gap)  # an operator opens a dashboard now and then, not twice a second
                        for name, selector in READY.items():
                            page = browser.new_page(viewport={"width": 1280, "height": 900})
                            started = time.perf_counter()
                            page.goto(dashboards.page(name))
                            page.wait_for_selector(selector, timeout=180_000)
                            renders[name].append(time.perf_counter() - started)
                            page.close()
                    page = browser.new_page(viewport={"width": 1280, "height": 900})
                    page.goto(dashboards.page("monitoring"))
                    page.wait_for_selector(READY["monitoring"], timeout=180_000)
                    page.evaluate(WATCH)
                    time.sleep(args.watch)
                    ticks = page.evaluate("window.__ticks")
                    browser.close()
            finally:
                simulation.terminate()
                simulation.wait(30)

    table = Table(title=f"Dashboards in Chromium: first render over {args.loads} fresh loads each")
    for column in ("dashboard", "first render, median s", "min s", "max s"):
        table.add_column(column, justify="left" if column == "dashboard" else "right")
    for name, times in renders.items():
        table.add_row(name, f"{np.median(times):.2f}", f"{min(times):.2f}", f"{max(times):.2f}")
    console.print(table)
    intervals = np.diff([at for _tick, at in ticks]) / 1000.0
    if len(intervals):
        console.print(f"monitoring refresh period in the browser over {args.watch:.0f} s: {len(intervals)} refreshes, "
                      f"median [bold]{np.median(intervals):.2f} s[/bold], p90 {np.percentile(intervals, 90):.2f} s, "
                      f"max {intervals.max():.2f} s (target at most 2 s)")
    else:
        console.print(f"[red]no refresh landed in {args.watch:.0f} s[/red]")


if __name__ == "__main__":
    main()
