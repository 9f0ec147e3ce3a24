"""The figures' colours for the light and the dark theme, chosen for contrast in each.

Streamlit themes its own widgets from `.streamlit/config.toml` (`[theme.light]`,
`[theme.dark]`, picked by the browser's setting), and a Plotly chart's axes and
backgrounds with them; the colours the figures set themselves (the calendar's shades, the
day numbers on them, the alert marks) come from here. Each is checked in
`tests/test_theme_contrast.py`: text ≥ 4.5:1 on what it is drawn on (WCAG AA), an alert
mark ≥ 3:1 against every shade by its fill or its outline, and a mark is a triangle, so it
is never told apart from a day by colour alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

ThemeType = Literal["light", "dark"]


@dataclass(frozen=True)
class Palette:
    """One theme's figure colours. `shades[0]` is a day without searches, then fewer to
    more; `day_text[i]` is the colour of a day's number on `shades[i]`."""

    background: str  # the theme's backgroundColor (config.toml), for the checks
    shades: tuple[str, str, str, str, str]
    day_text: tuple[str, str, str, str, str]
    future: str  # a day after today: no searches yet is not news
    future_text: str
    cell_line: str  # the gap between days
    bar: str
    mark: str  # an open alert's triangle
    mark_line: str


LIGHT = Palette(
    background="#ffffff",
    shades=("#ebedf0", "#c6dbef", "#6baed6", "#2171b5", "#08306b"),
    day_text=("#1f2430", "#1f2430", "#1f2430", "#ffffff", "#ffffff"),
    future="#f6f7f9",
    future_text="#5f6670",
    cell_line="#ffffff",
    bar="#2171b5",
    mark="#a50f15",
    mark_line="#ffffff",
)
DARK = Palette(
    background="#0e1117",
    shades=("#21262d", "#1b4a7d", "#1f5fa8", "#4f9be8", "#a9d1ff"),
    day_text=("#ffffff", "#ffffff", "#ffffff", "#0e1117", "#0e1117"),
    future="#161a22",
    future_text="#9aa0aa",
    cell_line="#0e1117",
    bar="#4f9be8",
    mark="#ffa198",
    mark_line="#0e1117",
)
PALETTES: dict[str, Palette] = {"light": LIGHT, "dark": DARK}
MARK_SYMBOL = "triangle-down"
DAY_SYMBOL = "square"


def current_theme() -> ThemeType:
    """The viewer's theme as the browser reports it with each run (light outside a page
    run, as for a figure built in a test)."""
    if get_script_run_ctx(suppress_warning=True) is None:
        return "light"
    return "dark" if st.context.theme.type == "dark" else "light"


def palette(theme: str | None = None) -> Palette:
    """The palette for `theme` ("light" or "dark"), else for the viewer's theme."""
    return PALETTES.get(theme or current_theme(), LIGHT)


def shade_index(count: int, top: int) -> int:
    """Which of the 5 shades a day of `count` searches gets when the busiest has `top`:
    0 for none, then quarters of `top` (1 is up to a quarter, 4 above three)."""
    if count <= 0 or top <= 0:
        return 0
    return min(4, max(1, -(-4 * count // top)))


def shade_range(index: int, top: int) -> str:
    """The counts shade `index` stands for (a colour bar label): `0`, `1–25`, `76–100`."""
    if index == 0:
        return "0"
    low, high = (index - 1) * top // 4 + 1, index * top // 4
    if low > high:
        return "—"
    return f"{low:,}" if low == high else f"{low:,}–{high:,}"


def stepped_scale(colours: tuple[str, ...]) -> list[list[float | str]]:
    """A Plotly colour scale of flat steps for the values 0..len-1 (cmin -0.5, cmax
    len-0.5): each whole value sits inside one step, so its colour is exactly the one
    checked, never a blend."""
    steps: list[list[float | str]] = []
    for index, colour in enumerate(colours):
        steps += [[index / len(colours), colour], [(index + 1) / len(colours), colour]]
    return steps
