"""Driving the dashboard in headless Chromium: start it, wait for it, read what it shows.

Streamlit draws tables on a canvas (glide-data-grid). What a table holds is read from the
grid's accessibility table (`glide-cell-<column>-<row>` cells, the rows currently drawn);
a click lands on the canvas at the row's position. Plotly's drag layer covers a chart's
points, so a point is clicked by mouse position too.
"""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
import time
import urllib.request
from collections.abc import Iterable
from pathlib import Path

from playwright.sync_api import Locator, Page

from dashboard.routes import ROUTES
from tests.support.runtime import PROJECT_ROOT, runtime_python, subprocess_env

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 1000}
NAV_TITLES = [route.title for route in ROUTES]
ADMIN_ONLY_TITLES = tuple(route.title for route in ROUTES if route.admin_only)

# glide-data-grid geometry as Streamlit configures it: a 35 px header, 35 px rows, and the
# row-selection checkboxes in a narrow first column.
GRID_HEADER = 35
GRID_ROW = 35
GRID_CHECKBOX_X = 16

APP = '[data-testid="stApp"]'
MENU_LINK = '[data-testid="stSidebar"] [data-testid="stPageLink-NavLink"]'
"""The dashboard's own menu (`dashboard.sidebar.menu`): page links at the top of the sidebar."""
LEGACY_MENU = '[data-testid="stSidebarNav"]'
"""Streamlit's own menu, which the dashboard keeps off (`client.showSidebarNavigation`)."""
ANY_MENU = f"{LEGACY_MENU}, {MENU_LINK}"
MAIN = '[data-testid="stMain"]'
METRIC = f'{MAIN} [data-testid="stMetric"]'


# --- the server -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_dashboard(
    settings_env: dict[str, str],
    port: int,
    log: Path,
    *,
    runtime_required: bool = False,
    python: str | None = None,
) -> subprocess.Popen:
    """`streamlit run streamlit_app.py` on loopback, its output in `log`, run by the
    runtime virtualenv's Python (`runtime_required`: never fall back to this one), or by
    `python` (the test tools' own, which has the ClickHouse extra)."""
    python = python or runtime_python(required=runtime_required)
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                python,
                "-m",
                "streamlit",
                "run",
                "streamlit_app.py",
                "--server.port",
                str(port),
                "--server.headless",
                "true",
                "--server.address",
                "127.0.0.1",
                "--server.fileWatcherType",
                "none",
            ],
            cwd=PROJECT_ROOT,
            env=subprocess_env(settings_env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_healthy(base_url: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    """Return once `/_stcore/health` answers ok; raise with the server's log otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as reply:
                if reply.status == 200 and reply.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the dashboard did not become healthy:\n{log.read_text()[-3000:]}")


def serve_dashboard(
    settings_env: dict[str, str], log: Path, *, python: str | None = None
) -> tuple[str, subprocess.Popen]:
    """A dashboard on a free port, healthy; its base URL and process."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    process = start_dashboard(settings_env, port, log, python=python)
    try:
        wait_healthy(base_url, process, log)
    except BaseException:
        stop_dashboard(process)
        raise
    return base_url, process


def stop_dashboard(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


# --- reading a page ---------------------------------------------------------------------


def settle(page: Page, timeout: float = 30_000) -> None:
    """Wait until the script run the last action started has finished and is drawn.

    The run's end is not enough: elements whose code is loaded lazily (metrics, tables,
    charts) show a skeleton first and are drawn a moment after the run has finished.
    """
    page.wait_for_selector(
        f'{APP}[data-test-connection-state="CONNECTED"][data-test-script-state="notRunning"]',
        timeout=timeout,
    )
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=timeout)
    page.locator('[data-testid="stSkeleton"]').first.wait_for(state="detached", timeout=timeout)


def open_page(page: Page, url: str, title: str, timeout: float = 30_000) -> None:
    """Go to `url`; return once its heading and first metric show and the run is done."""
    page.goto(url)
    wait_for_content(page, title, timeout)
    settle(page, timeout)


def wait_for_content(page: Page, title: str, timeout: float = 30_000) -> None:
    """The page's heading and its first figure are on screen."""
    page.locator(f"{MAIN} h1", has_text=title).wait_for(timeout=timeout)
    page.locator(METRIC).first.wait_for(timeout=timeout)


def heading(page: Page) -> str:
    return page.locator(f"{MAIN} h1").inner_text().strip()


def subheadings(page: Page) -> list[str]:
    return [text.strip() for text in page.locator(f"{MAIN} h3").all_inner_texts()]


def nav_titles(page: Page) -> list[str]:
    """The page titles the sidebar menu lists, without their icons."""
    links = page.locator(f'{MENU_LINK} [data-testid="stMarkdownContainer"]')
    return [text.strip() for text in links.all_inner_texts()]


WATCH_MENUS = (
    f"const MENU_LINK = {json.dumps(MENU_LINK)};"
    + """
(() => {
  window.__menus = {legacy: [], real: null};
  const look = () => {
    const legacy = document.querySelector('[data-testid="stSidebarNav"]');
    if (legacy) window.__menus.legacy.push(legacy.innerText);
    const sidebar = document.querySelector('[data-testid="stSidebar"]');
    if (sidebar && /streamlit app/i.test(sidebar.innerText)) {
      window.__menus.legacy.push(sidebar.innerText);
    }
    if (window.__menus.real === null && document.querySelector(MENU_LINK)) {
      window.__menus.real = performance.now();
    }
  };
  new MutationObserver(look).observe(document, {childList: true, subtree: true});
  document.addEventListener('DOMContentLoaded', look);
})();
"""
)


def watch_menus(page: Page) -> None:
    """From the page's first paint on, record every moment Streamlit's legacy `pages/` menu
    (file names: "streamlit app", …) is in the page; read it back with `menus_seen`."""
    page.add_init_script(WATCH_MENUS)


def menus_seen(page: Page) -> dict:
    """{"legacy": texts of every legacy menu seen, "real": ms until the real menu showed}."""
    return page.evaluate("window.__menus")


def metrics(page: Page) -> dict[str, str]:
    """Each metric in the main area: label → value, as shown."""
    shown: dict[str, str] = {}
    for metric in page.locator(METRIC).all():
        label = metric.locator('[data-testid="stMetricLabel"]').inner_text().strip()
        shown[label] = metric.locator('[data-testid="stMetricValue"]').inner_text().strip()
    return shown


def exceptions(page: Page) -> list[str]:
    return page.locator('[data-testid="stException"]').all_inner_texts()


def grid_rows(table: Locator) -> list[list[str]]:
    """The cells of a dataframe's drawn rows, from its accessibility table."""
    table.locator("tbody tr").first.wait_for(state="attached")  # visually hidden
    return table.locator("tbody tr").evaluate_all(
        "rows => rows.map(row => Array.from(row.querySelectorAll('td'), td => td.textContent))"
    )


def grid_header(table: Locator) -> list[str]:
    table.locator("thead th").first.wait_for(state="attached")
    return [text.strip() for text in table.locator("thead th").all_text_contents()]


def click_grid_row(page: Page, table: Locator, row: int, x: float = GRID_CHECKBOX_X) -> None:
    """Click row `row` of a dataframe's canvas, `x` pixels from its left edge."""
    box = table.locator('[data-testid="data-grid-canvas"]').bounding_box()
    assert box is not None, "the table is not on screen"
    target = (box["x"] + x, box["y"] + GRID_HEADER + GRID_ROW * row + GRID_ROW / 2)
    page.mouse.move(*target)  # the grid turns a link cell clickable on hover
    page.wait_for_timeout(150)
    page.mouse.click(*target)


def click_calendar_day(page: Page, day: str) -> int:
    """Click the calendar marker whose date (customdata[0]) is `day`; return its count."""
    chart = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first
    custom = chart.evaluate("plot => plot.data[0].customdata")
    index = next(i for i, (date, _weekday, _count) in enumerate(custom) if date == day)
    point = chart.locator(".scatterlayer .point").nth(index)
    assert point.evaluate("node => node.__data__.i") == index, "markers out of data order"
    box = point.bounding_box()
    assert box is not None, f"the marker for {day} is not drawn"
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    return int(custom[index][2])


def wait_for_charts(page: Page, timeout: float = 30_000) -> int:
    """Wait until every Plotly chart on the page has drawn its SVG; return how many."""
    charts = page.locator('[data-testid="stPlotlyChart"]')
    for chart in charts.all():
        chart.locator(".main-svg").first.wait_for(timeout=timeout)
    return charts.count()


def full_page_screenshot(page: Page, path: Path) -> None:
    """The whole page at the viewport's width: Streamlit scrolls inside `stMain`, so the
    viewport is made as tall as the content for the shot (re-measured until the layout
    stops growing), then put back."""
    size = page.viewport_size or VIEWPORT
    height = size["height"]
    for _ in range(5):
        content = int(page.locator(MAIN).evaluate("main => main.scrollHeight"))
        if content <= height:
            break
        height = content
        page.set_viewport_size({"width": size["width"], "height": height})
        page.wait_for_timeout(300)
    page.screenshot(path=str(path), full_page=True, animations="disabled")
    page.set_viewport_size(size)


def median_ms(samples: Iterable[float]) -> int:
    return round(statistics.median(samples) * 1000)
