"""The page icon of every LayerScope page: an isometric box, as the layer map draws a layer.

Streamlit loads a `:material/...:` page icon (the browser tab's favicon) from fonts.gstatic.com, which
fails offline; a local image becomes an inline data URL, so no request leaves the machine (and no emoji
font is needed). Material icons elsewhere, as in titles and links, come from the font Streamlit serves.
"""
from pathlib import Path

PAGE_ICON = str(Path(__file__).with_name("icon.png"))
