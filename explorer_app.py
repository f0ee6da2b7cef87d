"""VAE Explorer. Run with `make run` (or `streamlit run explorer_app.py`).

The entry point only routes: every page, the home page included, is a file in `pages/` listed once
in `ui.layout.PAGES`, which also draws the sidebar's links and the home page's cards.
"""

from ui.layout import navigation

navigation().run()
