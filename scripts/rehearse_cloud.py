"""`python -m scripts.rehearse_cloud [CATALOG] [--cpu 0] [--max-rss-gb 2.0] [--json OUT] [--keep]`: a
Community Cloud rehearsal here (fresh clone, publish, one core, every page in Chromium, RSS limit).

The rehearsal drives a browser and samples memory like the benchmarks do, so it lives beside them in
`benchmarks/cloud_rehearsal.py` (scripts may not import benchmarks); this command runs it.
"""
from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    command = [sys.executable, "-m", "benchmarks.cloud_rehearsal", *sys.argv[1:]]
    os.execv(sys.executable, command)
