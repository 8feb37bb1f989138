"""Run by tests/test_public.py in a fresh interpreter: browse a published catalog through AppTest, in public
mode, and print which heavy modules got imported (a fresh process, so nothing earlier imported them)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parent.parent


def run(at: AppTest) -> AppTest:
    at.run()
    if at.exception:
        raise SystemExit(f"page failed: {[e.value for e in at.exception]}")
    return at


def clusters_named_and_picked(explorer: AppTest) -> tuple[int, list[int]]:
    """On the catalog's last PCA map with clusters: how many names the map draws, and the size of the
    largest cluster beside how many samples picking it in the Selection tab selects."""
    import catalog
    con = catalog.open(Path(explorer.session_state.catalog_path))
    layer_id, size, cluster = con.execute("""SELECT layer_id, size, cluster FROM clusters WHERE method = 'pca'
                                             ORDER BY layer_id DESC, size DESC LIMIT 1""").fetchone()
    explorer.session_state.layer_id = int(layer_id)
    explorer.session_state["explorer_tab"] = "Selection"
    run(explorer)
    explorer.selectbox(key="cluster_pick").set_value(int(cluster))
    run(explorer)
    sent = next(e for e in explorer.get("bidi_component") if e.proto.id.endswith("datamap_chart"))
    layout = json.loads(json.loads(sent.proto.json)["layout"])
    return len(layout.get("annotations") or []), [int(size), len(explorer.session_state.selection_ids)]


def main() -> None:
    steps = []
    home = run(AppTest.from_file(str(REPO / "Home.py"), default_timeout=180))
    steps.append(("home", "torch" in sys.modules))
    explorer = run(AppTest.from_file(str(REPO / "pages" / "1_Explorer.py"), default_timeout=180))
    explorer.session_state.pinned = 3  # the inspector shows the pinned sample's stored pictures
    run(explorer)
    steps.append(("explorer, pinned", "torch" in sys.modules))
    for tab in ("Neighbours", "Explain", "Selection", "Compare layers", "Export", "Failures", "Layer similarity"):
        explorer.session_state["explorer_tab"] = tab
        if tab == "Selection":
            explorer.session_state["selection_ids"] = [0, 1, 2, 3]
        run(explorer)
        steps.append((tab, "torch" in sys.modules))
    explorer.session_state.method = "pca"
    explorer.session_state.layer_id = 2
    run(explorer)
    steps.append(("pca, another layer", "torch" in sys.modules))
    names, picked = clusters_named_and_picked(explorer)
    steps.append(("cluster names, a cluster picked", "torch" in sys.modules))
    run(AppTest.from_file(str(REPO / "pages" / "4_Compare_models.py"), default_timeout=180))
    steps.append(("compare models", "torch" in sys.modules))
    sql = run(AppTest.from_file(str(REPO / "pages" / "2_SQL.py"), default_timeout=180))
    steps.append(("sql", "torch" in sys.modules))
    home_text = "\n".join(m.value for m in home.markdown)
    print(json.dumps({"steps": steps, "home": home_text, "sql_ok": not sql.exception, "cluster_names": names,
                      "cluster_picked": picked,
                      "modules": sorted(m for m in ("torch", "torchvision", "timm", "pytorch_grad_cam") if m in sys.modules)}))


if __name__ == "__main__":
    main()
