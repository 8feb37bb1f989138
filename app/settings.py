"""Who the app runs for, read from the environment in one place.

Owner mode (the default: `python -m scripts.start` on your own machine) may build catalogs from Home.
Public mode (`LAYERSCOPE_PUBLIC=1`, on in a shared deployment) never starts a build: a visitor must not
be able to spend the server's CPU for minutes.
"""
from __future__ import annotations

import os

PUBLIC_ENV = "LAYERSCOPE_PUBLIC"


def public_mode() -> bool:
    return os.environ.get(PUBLIC_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def builds_allowed() -> bool:
    return not public_mode()


def hide_error_details() -> None:
    """Visitors see that something failed, never a traceback. Set from the script, so it overrides
    Community Cloud's forced `client.showErrorDetails = false` (which Streamlit reads as "stacktrace")."""
    import streamlit as st
    st.set_option("client.showErrorDetails", "none")
