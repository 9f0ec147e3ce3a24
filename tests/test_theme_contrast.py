"""The light and dark themes meet WCAG AA contrast, computed from the configured colours:
`.streamlit/config.toml`'s `[theme.light]`/`[theme.dark]` for the app, and
`dashboard/colours.py` for the calendar's shades, the day numbers on them and the alert
marks, which are a shape as well as a colour. The ratios follow WCAG 2.2's definition
(relative luminance of sRGB), written out in tests/support/contrast.py, not taken from the
product."""

from __future__ import annotations

import tomllib
from datetime import date, timedelta

import pandas as pd
import pytest

from dashboard import alerts_view, figures
from dashboard.colours import (
    DAY_SYMBOL,
    PALETTES,
    Palette,
    shade_index,
    shade_range,
)
from tests.support.contrast import GRAPHIC, TEXT_AA, contrast, luminance, over
from tests.support.runtime import PROJECT_ROOT

THEMES = ("light", "dark")
SELECTED_TINT = 0.1
"""A selected pill (date preset) is its primary colour on a 10 % tint of that colour over the
sidebar (Streamlit 1.67, measured in tests/test_theme_browser.py)."""


def theme_table(kind: str) -> dict[str, str]:
    config = tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text())
    return config["theme"][kind]


def sidebar_primary(kind: str) -> str:
    table = theme_table(kind)
    return table.get("sidebar", {}).get("primaryColor", table["primaryColor"])


def test_contrast_is_computed_as_wcag_defines_it() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


def test_the_theme_follows_the_browser_with_a_light_and_a_dark_table() -> None:
    config = tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text())
    assert "base" not in config["theme"]  # a base would pin one scheme for everyone
    assert set(THEMES) <= set(config["theme"])


@pytest.mark.parametrize("kind", THEMES)
def test_the_apps_text_and_links_meet_wcag_aa_on_both_backgrounds(kind: str) -> None:
    table = theme_table(kind)
    for background in (table["backgroundColor"], table["secondaryBackgroundColor"]):
        assert contrast(table["textColor"], background) >= TEXT_AA, (kind, background)
        assert contrast(table["linkColor"], background) >= TEXT_AA, (kind, background)


@pytest.mark.parametrize("kind", THEMES)
def test_the_primary_colour_carries_white_labels_and_stands_out_from_the_page(
    kind: str,
) -> None:
    table = theme_table(kind)
    assert contrast("#ffffff", table["primaryColor"]) >= TEXT_AA  # a primary button's label
    assert contrast(table["primaryColor"], table["backgroundColor"]) >= GRAPHIC


@pytest.mark.parametrize("kind", THEMES)
def test_a_selected_date_preset_meets_wcag_aa_in_the_sidebar(kind: str) -> None:
    primary, sidebar = sidebar_primary(kind), theme_table(kind)["secondaryBackgroundColor"]
    tint = over(primary, sidebar, SELECTED_TINT)
    assert contrast(primary, tint) >= TEXT_AA
    assert contrast(theme_table(kind)["textColor"], sidebar) >= TEXT_AA  # the others


@pytest.mark.parametrize("kind", THEMES)
def test_each_palette_is_drawn_on_its_themes_background(kind: str) -> None:
    assert PALETTES[kind].background == theme_table(kind)["backgroundColor"]


@pytest.mark.parametrize("kind", THEMES)
def test_day_numbers_meet_wcag_aa_on_every_calendar_shade(kind: str) -> None:
    palette = PALETTES[kind]
    pairs = [*zip(palette.day_text, palette.shades, strict=True)]
    pairs.append((palette.future_text, palette.future))
    for text, shade in pairs:
        assert contrast(text, shade) >= TEXT_AA, (kind, text, shade)


@pytest.mark.parametrize("kind", THEMES)
def test_an_alert_mark_stands_out_from_every_shade_by_its_fill_or_outline(kind: str) -> None:
    palette = PALETTES[kind]
    assert contrast(palette.mark, palette.background) >= GRAPHIC
    for shade in (*palette.shades, palette.future):
        best = max(contrast(palette.mark, shade), contrast(palette.mark_line, shade))
        assert best >= GRAPHIC, (kind, shade)


@pytest.mark.parametrize("kind", THEMES)
def test_the_shades_go_one_way_from_none_to_the_busiest_in_visible_steps(kind: str) -> None:
    palette = PALETTES[kind]
    levels = [luminance(shade) for shade in palette.shades]
    towards_text = luminance(theme_table(kind)["textColor"]) > luminance(palette.background)
    assert levels == sorted(levels, reverse=not towards_text)  # busier: closer to the text
    for one, other in zip(palette.shades, palette.shades[1:], strict=False):
        assert contrast(one, other) >= 1.2, (kind, one, other)


@pytest.mark.parametrize("kind", THEMES)
def test_the_office_hours_outline_stands_out_in_both_themes(kind: str) -> None:
    grid = pd.DataFrame({"weekday": [0], "hour": [9], "searches": [1]})
    outline = figures.hour_weekday_heatmap(grid).layout.shapes[0].line.color
    assert contrast(outline, PALETTES[kind].background) >= GRAPHIC


def month_with_every_shade() -> pd.DataFrame:
    """March 2026: counts in every quarter of the busiest day (100), some days none."""
    days = [date(2026, 3, 1) + timedelta(days=n) for n in range(31)]
    counts = [(0, 1, 25, 26, 50, 51, 75, 76, 100)[n % 9] for n in range(31)]
    return pd.DataFrame({"date": days, "searches": counts})


@pytest.mark.parametrize("kind", THEMES)
def test_the_calendar_draws_exactly_the_checked_colours(kind: str) -> None:
    palette: Palette = PALETTES[kind]
    per_day = month_with_every_shade()
    today = date(2026, 3, 20)
    figure = figures.calendar_figure(per_day, view="month", today=today, theme=kind)
    days = figure.data[0]
    drawn = list(zip(days.marker.color, days.textfont.color, strict=True))
    assert days.marker.symbol == DAY_SYMBOL
    for day, n, (fill, text) in zip(per_day["date"], per_day["searches"], drawn, strict=True):
        if day > today:
            assert (fill, text) == (palette.future, palette.future_text)
        else:
            shade = shade_index(int(n), 100)
            assert (fill, text) == (palette.shades[shade], palette.day_text[shade])
        assert contrast(text, fill) >= TEXT_AA
    assert {fill for fill, _ in drawn} == {*palette.shades, palette.future}
    key = figure.data[1].marker
    assert list(key.colorbar.ticktext) == ["0", "1–25", "26–50", "51–75", "76–100"]
    assert {step[1] for step in key.colorscale} == set(palette.shades)


@pytest.mark.parametrize("kind", THEMES)
def test_an_alert_mark_is_a_triangle_not_only_a_colour(kind: str) -> None:
    per_day = month_with_every_shade()
    figure = figures.calendar_figure(per_day, view="month", theme=kind)
    alerts_view.mark_calendar(figure, per_day, {date(2026, 3, 4): 2}, theme=kind)
    mark = figure.data[-1]
    assert mark.marker.symbol != DAY_SYMBOL and "triangle" in mark.marker.symbol
    assert (mark.marker.color, mark.marker.line.color) == (
        PALETTES[kind].mark,
        PALETTES[kind].mark_line,
    )
    assert "open alert" in mark.hovertemplate
    assert list(mark.customdata[0]) == ["2026-03-04", 2]


def test_a_shade_stands_for_a_quarter_of_the_busiest_day() -> None:
    assert [shade_index(n, 100) for n in (0, 1, 25, 26, 50, 51, 75, 76, 100)] == [
        0,
        1,
        1,
        2,
        2,
        3,
        3,
        4,
        4,
    ]
    assert [shade_range(index, 3) for index in range(5)] == ["0", "—", "1", "2", "3"]
