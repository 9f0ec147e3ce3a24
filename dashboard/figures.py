"""Plotly figures, built from the data layer's small frames and testable without a browser.

The calendar is a grid of square scatter markers (weekday rows × week columns) rather
than a `go.Heatmap`: Streamlit reports clicks on scatter points but not on heatmap cells
(streamlit issue 8760), and a click on a day must open that day.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from dashboard.colours import (
    DAY_SYMBOL,
    palette,
    shade_index,
    shade_range,
    stepped_scale,
)
from db.queries import WEEKDAYS

OFFICE_HOURS = (8, 18)  # 08:00–17:59, Monday to Friday: outlined on the heatmap
MONTH_NAMES = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)


def calendar_layout(days: list[date]) -> pd.DataFrame:
    """Where each day sits: row = weekday (0 = Monday, top), column = week since the first."""
    if not days:
        return pd.DataFrame({"date": [], "row": [], "column": []})
    first_monday = days[0] - timedelta(days=days[0].weekday())
    return pd.DataFrame(
        {
            "date": days,
            "row": [day.weekday() for day in days],
            "column": [(day - first_monday).days // 7 for day in days],
        }
    )


def calendar_figure(
    per_day: pd.DataFrame,
    *,
    view: str = "month",
    today: date | None = None,
    theme: str | None = None,
) -> go.Figure:
    """A clickable calendar of searches per day; `view` is "month" or "year"; colours
    for `theme` ("light"/"dark", default the viewer's).

    Points keep the order of `per_day`, and each carries its ISO date as customdata[0].
    A day's shade is one of five flat steps (none, then quarters of the busiest day), so
    the colour drawn is exactly a checked one. Days after `today` get a plain future
    shade: no searches there yet is not news.
    """
    colours = palette(theme)
    days = list(per_day["date"])
    counts = [int(n) for n in per_day["searches"]]
    grid = calendar_layout(days)
    top = max(counts, default=0)
    month = view == "month"
    cell = 52 if month else 15
    columns = int(grid["column"].max()) + 1 if len(grid) else 1
    shades = [shade_index(n, top) for n in counts]
    future = [bool(today and day > today) for day in days]
    figure = go.Figure(
        go.Scatter(
            x=grid["column"],
            y=grid["row"],
            mode="markers+text" if month else "markers",
            text=[str(day.day) for day in days] if month else None,
            textfont={
                "color": [
                    colours.future_text if later else colours.day_text[shade]
                    for shade, later in zip(shades, future, strict=True)
                ],
                "size": 13,
            },
            marker={
                "symbol": DAY_SYMBOL,
                "size": cell - 4,
                "color": [
                    colours.future if later else colours.shades[shade]
                    for shade, later in zip(shades, future, strict=True)
                ],
                "line": {"width": 1, "color": colours.cell_line},
            },
            customdata=[
                [day.isoformat(), WEEKDAYS[day.weekday()], n]
                for day, n in zip(days, counts, strict=True)
            ],
            hovertemplate="%{customdata[0]} (%{customdata[1]})<br>"
            "%{customdata[2]:,} searches<extra>click to open the day</extra>",
        )
    )
    if top > 0:
        figure.add_trace(_shade_key(colours.shades, top))
    tick_columns: list[int] = []
    tick_labels: list[str] = []
    if not month:
        for day, column in zip(grid["date"], grid["column"], strict=True):
            if day.day == 1:
                tick_columns.append(int(column))
                tick_labels.append(MONTH_NAMES[day.month - 1])
    figure.update_layout(
        width=cell * columns + 190,
        height=cell * 7 + 70,
        margin={"l": 50, "r": 20, "t": 20 if month else 30, "b": 20},
        plot_bgcolor="rgba(0,0,0,0)",
        showlegend=False,
        clickmode="event+select",
        dragmode=False,
    )
    figure.update_xaxes(
        range=[-0.5, columns - 0.5],
        showgrid=False,
        zeroline=False,
        fixedrange=True,
        tickvals=tick_columns,
        ticktext=tick_labels,
        side="top",
        showticklabels=not month,
    )
    figure.update_yaxes(
        range=[6.5, -0.5],
        tickvals=list(range(7)),
        ticktext=list(WEEKDAYS),
        showgrid=False,
        zeroline=False,
        fixedrange=True,
    )
    return figure


def _shade_key(shades: tuple[str, ...], top: int) -> go.Scatter:
    """The colour bar: the five shades as flat steps, each labelled with its counts (a
    trace without points, so it takes no clicks)."""
    return go.Scatter(
        x=[None],
        y=[None],
        mode="markers",
        marker={
            "color": [0],
            "cmin": -0.5,
            "cmax": len(shades) - 0.5,
            "colorscale": stepped_scale(shades),
            "showscale": True,
            "colorbar": {
                "title": {"text": "searches"},
                "thickness": 12,
                "tickvals": list(range(len(shades))),
                "ticktext": [shade_range(index, top) for index in range(len(shades))],
            },
        },
        hoverinfo="skip",
        showlegend=False,
    )


def selected_day(selection: object, per_day: pd.DataFrame) -> date | None:
    """The day a calendar click selected, from Streamlit's plotly selection state."""
    points: list[Any] = []
    if isinstance(selection, dict) or hasattr(selection, "get"):
        inner = selection.get("selection") or {}
        points = inner.get("points") or []
    for point in points:
        custom = point.get("customdata")
        if isinstance(custom, list | tuple) and custom:
            try:
                return date.fromisoformat(str(custom[0]))
            except ValueError:
                pass
        index = point.get("point_index", point.get("pointIndex"))
        if isinstance(index, int) and 0 <= index < len(per_day):
            return per_day["date"].iloc[index]
    return None


HOURLY_DAYS = 2
"""Ranges of at most this many days are drawn hour by hour: one bar per day says nothing."""
DAY_MS = 86_400_000
HOUR_MS = 3_600_000


def per_day_bars(per_day: pd.DataFrame, hour_weekday: pd.DataFrame | None = None) -> go.Figure:
    """Searches per day; for one or two days (given the hour × weekday grid), per hour.

    Two consecutive days fall on different weekdays, so the grid's (weekday, hour) cells
    are exactly those days' hours. Ticks are whole days, one label per tick: plotly's own
    ticks on a short range repeat a day ("25 Nov, 25 Nov, 26 Nov")."""
    days = list(per_day["date"])
    if hour_weekday is not None and 0 < len(days) <= HOURLY_DAYS:
        return _hourly_bars(days, hour_weekday)
    figure = go.Figure(
        go.Bar(
            x=[day.isoformat() for day in days],
            y=per_day["searches"],
            marker_color=palette().bar,
            hovertemplate="%{x|%Y-%m-%d}<br>%{y:,} searches<extra></extra>",
        )
    )
    _bar_layout(figure)
    if days:
        step = max(1, math.ceil(len(days) / 10))
        figure.update_xaxes(
            range=[
                (pd.Timestamp(days[0]) - pd.Timedelta(hours=12)).isoformat(),
                (pd.Timestamp(days[-1]) + pd.Timedelta(hours=12)).isoformat(),
            ],
            tick0=days[0].isoformat(),
            dtick=DAY_MS * step,
        )
    figure.update_xaxes(type="date", tickformat="%d %b")
    return figure


def _hourly_bars(days: list[date], grid: pd.DataFrame) -> go.Figure:
    by_cell = grid.set_index(["weekday", "hour"])["searches"]
    hours = [pd.Timestamp(day) + pd.Timedelta(hours=hour) for day in days for hour in range(24)]
    counts = [int(by_cell.get((moment.weekday(), moment.hour), 0)) for moment in hours]
    figure = go.Figure(
        go.Bar(
            x=[moment.isoformat() for moment in hours],
            y=counts,
            width=HOUR_MS * 0.85,
            offset=0,
            marker_color=palette().bar,
            hovertemplate="%{x|%Y-%m-%d %H:00}–%{x|%H:59}<br>%{y:,} searches<extra></extra>",
        )
    )
    _bar_layout(figure)
    figure.update_layout(margin={"b": 50})
    # a minute short of midnight: the next day's 00:00 would be a second "00:00" tick
    end = pd.Timestamp(days[-1]) + pd.Timedelta(days=1) - pd.Timedelta(minutes=1)
    figure.update_xaxes(
        type="date",
        range=[hours[0].isoformat(), end.isoformat()],
        tick0=hours[0].isoformat(),
        dtick=HOUR_MS * (3 if len(days) == 1 else 6),
        tickformat="%H:%M" if len(days) == 1 else "%a %H:%M",
        title_text="hour of " + " and ".join(f"{day:%a %d %b}" for day in days) + " (local)",
    )
    return figure


def _bar_layout(figure: go.Figure) -> None:
    figure.update_layout(
        height=280,
        margin={"l": 40, "r": 10, "t": 10, "b": 30},
        bargap=0.15,
        yaxis_title="searches",
    )


def hour_weekday_heatmap(grid: pd.DataFrame) -> go.Figure:
    """Searches by local hour (columns) and weekday (rows), office hours outlined."""
    shades = palette().shades
    z = [
        [
            int(grid.loc[(grid["weekday"] == weekday) & (grid["hour"] == hour), "searches"].sum())
            for hour in range(24)
        ]
        for weekday in range(7)
    ]
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=list(range(24)),
            y=list(range(7)),
            colorscale=[[0.0, shades[0]], [1e-9, shades[1]], [1.0, shades[4]]],
            zmin=0,
            xgap=2,
            ygap=2,
            customdata=[[WEEKDAYS[weekday]] * 24 for weekday in range(7)],
            hovertemplate="%{customdata} %{x:02d}:00–%{x:02d}:59<br>%{z:,} searches<extra></extra>",
            colorbar={"title": {"text": "searches"}, "thickness": 12},
        )
    )
    start, end = OFFICE_HOURS
    figure.add_shape(
        type="rect",
        x0=start - 0.5,
        x1=end - 0.5,
        y0=-0.5,
        y1=4.5,
        line={"color": "#ff4b4b", "width": 2, "dash": "dot"},
        fillcolor="rgba(0,0,0,0)",
    )
    figure.update_layout(
        height=300,
        margin={"l": 50, "r": 10, "t": 10, "b": 40},
        plot_bgcolor="rgba(0,0,0,0)",
    )
    figure.update_xaxes(
        tickvals=list(range(0, 24, 2)),
        ticktext=[f"{hour:02d}" for hour in range(0, 24, 2)],
        title_text="hour of day",
        showgrid=False,
        zeroline=False,
        fixedrange=True,
    )
    figure.update_yaxes(
        tickvals=list(range(7)),
        ticktext=list(WEEKDAYS),
        range=[6.5, -0.5],
        showgrid=False,
        zeroline=False,
        fixedrange=True,
    )
    return figure
