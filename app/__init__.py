"""Shared Streamlit UI helpers for LayerScope's pages (UI only; computation lives in core/)."""
