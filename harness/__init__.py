"""What the browser tests and the benchmarks share: a Streamlit server of this checkout (`server`),
headless Chromium on the Explorer (`browser`), and samplers of a process tree's memory (`rss`) and CPU
time (`cpu`). Only `tests/` and `benchmarks/` import it (tests/test_architecture.py checks)."""
