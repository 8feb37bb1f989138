"""The data map's colours: one fixed colour per coarse group, a qualitative palette for up to 16
categories, spread hues beyond, and the HTML legend used where plotly's own legend would not fit."""
from __future__ import annotations

from app.markup import escape
from core import imagenet

# One colour per coarse group, always the same one: twelve from well-known qualitative sets (Okabe-Ito,
# Tableau 10, Kelly's) and a violet they lack, picked so that every pair is far apart in CIELAB (delta-E
# at least 23) and each stands out on the dark plot (contrast at least 4:1).
GROUP_COLOURS = dict(zip(imagenet.GROUPS, (
    "#56B4E9",  # fish: sky blue
    "#F0E442",  # birds: yellow
    "#008856",  # amphibians & reptiles: green
    "#CC79A7",  # invertebrates: reddish purple
    "#E15759",  # dogs: red
    "#F38400",  # other mammals: orange
    "#4E79A7",  # vehicles: steel blue
    "#76B7B2",  # devices: teal
    "#FF9DA7",  # clothing: pink
    "#C2B280",  # household: buff
    "#8DB600",  # sports: yellow-green
    "#848482",  # structures & scenes: grey
    "#9D7AE0",  # food & plants: violet
)))
PALETTE = list(GROUP_COLOURS.values()) + ["#A1CAF1", "#B07AA1", "#9C755F"]
CORRECT_COLOURS = {"correct": "#3ccf91", "wrong": "#ef5b5b"}


def category_colours(categories: list[str]) -> dict[str, str]:
    if len(categories) <= len(PALETTE):
        return {c: PALETTE[i] for i, c in enumerate(categories)}
    n = len(categories)  # spread hues, alternating lightness so neighbours differ
    return {c: f"hsl({(i * 360 / n):.0f},{70 if i % 2 else 55}%,{62 if i % 2 else 50}%)"
            for i, c in enumerate(categories)}


def legend_html(entries: list[tuple[str, str, int]], title: str) -> str:
    items = "".join(f'<span class="ls-leg"><i style="background:{colour}"></i>{escape(name)}'
                    f'{f" ({count})" if count > 1 else ""}</span>' for name, colour, count in entries)
    return (f'<div class="ls-legend" data-testid="class-legend"><b>{escape(title)}</b> '
            f'({len(entries)}): {items}</div>')
