"""The page icon of every LayerScope page.

Streamlit loads a `:material/...:` page icon (the browser tab's favicon) from fonts.gstatic.com, which
fails offline; an emoji icon becomes an inline data URL, so no request leaves the machine. (Material
icons elsewhere, as in titles and links, come from the font Streamlit serves itself.)
"""
PAGE_ICON = "🔬"
