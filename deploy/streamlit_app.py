"""Community Cloud's entrypoint ("Main file path": deploy/streamlit_app.py).

It lives in its own folder so that Cloud installs `deploy/requirements.txt` (CPU-only torch) rather than
the repository's `requirements.txt`, and it turns public mode on (Cloud has no shell to set
LAYERSCOPE_PUBLIC): catalogs come from `published/`, nothing is built from the app. Set
LAYERSCOPE_PUBLIC=0 to try it in owner mode.

Errors show no details in either mode: this entrypoint serves other people, and Cloud forces
`client.showErrorDetails = false`, which Streamlit reads as "show the stack trace". So it sets "none"
itself before any page runs; the server log keeps the details.
"""
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))  # streamlit puts only this file's folder on the path
os.environ.setdefault("LAYERSCOPE_PUBLIC", "1")

from app import navigation, settings  # noqa: E402  (needs the path above)

settings.hide_error_details()
navigation.run_pages()
