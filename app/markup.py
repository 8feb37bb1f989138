"""HTML pieces that several views share: inline images, rows of thumbnails, escaping.

Views draw with `st.html`, so pictures go inline as data URLs (no extra requests, one delta per
redraw). Named `markup`, not `html`, so that it never shadows the standard library's `html`.
"""
from __future__ import annotations

import base64
from html import escape

from app import cached

__all__ = ["counted", "data_url", "escape", "sample_thumbs", "thumbs_html"]


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`1 row`, `2 rows`, `1,000 rows`: a count with its noun in the right number (`plural` where not +s)."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {plural or noun + 's'}"


def data_url(data: bytes) -> str:
    """Encoded image bytes (PNG, WebP or JPEG, told apart by their magic numbers) as a data URL."""
    kind = "png" if data[:4] == b"\x89PNG" else "webp" if data[8:12] == b"WEBP" else "jpeg"
    return f"data:image/{kind};base64," + base64.b64encode(data).decode()


def thumbs_html(items: list[tuple[int | None, bytes, str]], testid: str, marked: set[int] | None = None,
                marked_title: str = "same label", pinned: int | None = None) -> str:
    """A row of thumbnails: (sample_id or None, image bytes, caption); `marked` ones get a green frame
    (same label, or group, as the pinned sample: `marked_title` says which), the `pinned` one a white one."""
    cells = []
    for sample_id, data, caption in items:
        sid = "" if sample_id is None else f' data-sample-id="{int(sample_id)}"'
        same = marked is not None and sample_id in marked
        css = "ls-thumb ls-same-label" if same else "ls-thumb"
        if pinned is not None and sample_id == pinned:
            css += " ls-pinned"
        title = f' title="{escape(marked_title)}"' if same else ""
        cells.append(f'<figure class="{css}"{sid}{title}><img src="{data_url(data)}" alt="{escape(caption)}">'
                     f'<figcaption>{escape(caption)}</figcaption></figure>')
    return f'<div class="ls-thumbs" data-testid="{testid}">' + "".join(cells) + "</div>"


def sample_thumbs(path: str, ids: list[int], captions: list[str], testid: str,
                  marked: set[int] | None = None, marked_title: str = "same label", pinned: int | None = None) -> str:
    """Thumbnails of catalog samples by id (their stored model-view images); samples without one are left out."""
    items = []
    for sample_id, caption in zip(ids, captions):
        data = cached.sample_view(path, int(sample_id))["image"]
        if data:
            items.append((int(sample_id), data, caption))
    return thumbs_html(items, testid, marked, marked_title, pinned)
