"""Where the public datasets live: `data/` in the repository (override with OUTCOMEDESK_DATA_DIR)."""

import os
from pathlib import Path

DATA_DIR = Path(os.environ.get("OUTCOMEDESK_DATA_DIR", Path(__file__).resolve().parents[1] / "data"))
