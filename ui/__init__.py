"""Shared UI code for the pages (Streamlit only runs the top-level pages/*.py as pages)."""
