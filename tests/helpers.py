"""Helpers shared by the app tests."""

from __future__ import annotations

from pathlib import Path

HOME = str(Path(__file__).resolve().parent.parent / "explorer_app.py")


def open_page(page: str, timeout: float = 90):
    """AppTest of `page` (e.g. "pages/2_Generate.py") entered through the home page, as a browser
    would: the sidebar's page links resolve only relative to the entry point."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(HOME, default_timeout=timeout).run()
    return at.switch_page(page).run()
