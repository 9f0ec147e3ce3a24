"""WCAG 2.2 contrast, written out for the theme tests: relative luminance of sRGB colours
(`#rrggbb` or a browser's computed `rgb(…)`/`rgba(…)`), and a translucent colour laid
over its background as the browser paints it."""

from __future__ import annotations

import re

TEXT_AA = 4.5  # WCAG 1.4.3, normal-size text
GRAPHIC = 3.0  # WCAG 1.4.11, graphical objects and UI components

RGB = tuple[float, float, float]


def parse(colour: str) -> tuple[RGB, float]:
    """`#rrggbb`, `rgb(r, g, b)` or `rgba(r, g, b, a)` as 0–255 channels and an alpha."""
    if colour.startswith("#"):
        hex_ = colour.lstrip("#")
        return (int(hex_[0:2], 16), int(hex_[2:4], 16), int(hex_[4:6], 16)), 1.0
    numbers = [float(n) for n in re.findall(r"[\d.]+", colour)]
    alpha = numbers[3] if len(numbers) == 4 else 1.0
    return (numbers[0], numbers[1], numbers[2]), alpha


def over(colour: str, background: str, alpha: float | None = None) -> str:
    """`colour` (translucent by its own alpha, or `alpha`) painted over the opaque
    `background`, as `#rrggbb`."""
    (top, own), (bottom, _) = parse(colour), parse(background)
    alpha = own if alpha is None else alpha
    mixed = [round(alpha * t + (1 - alpha) * b) for t, b in zip(top, bottom, strict=True)]
    return "#" + "".join(f"{channel:02x}" for channel in mixed)


def luminance(colour: str) -> float:
    channels = [c / 255 for c in parse(colour)[0]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, other: str) -> float:
    high, low = sorted((luminance(one), luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)
