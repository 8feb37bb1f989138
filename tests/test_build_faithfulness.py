"""`--faithfulness N`: the stored explanations scored at build time into the faithfulness table."""
import re
from pathlib import Path
from types import SimpleNamespace

import catalog
from builder.faithfulness import saliency, stratified
from core.faithfulness import METRICS
from scripts import build_catalog as cli

REPO = Path(__file__).resolve().parents[1]


def sql_example(title_part: str) -> str:
    source = (REPO / "pages" / "2_SQL.py").read_text()
    match = re.search(r'"[^"\n]*' + re.escape(title_part) + r'[^"\n]*": """(.*?)"""', source, re.S)
    return match.group(1)


def test_stratified_takes_the_groups_in_turn():
    groups = ["a", "a", "a", "b", "c", "c"]
    state = SimpleNamespace(kept=list(range(6)), dataset=SimpleNamespace(
        samples=[SimpleNamespace(group_name=g) for g in groups]))
    chosen = stratified(state, 3, seed=0)
    assert sorted(groups[p] for p in chosen) == ["a", "b", "c"]
    assert len(stratified(state, 5, seed=0)) == 5 and stratified(state, 50, seed=0) == list(range(6))
    assert stratified(state, 0, seed=0) == []


def test_saliency_is_the_largest_absolute_channel_scaled():
    import numpy as np
    gradient = np.zeros((2, 2, 3), np.float32)
    gradient[0, 0] = (-4.0, 1.0, 0.0)
    gradient[1, 1] = (0.0, 2.0, -1.0)
    np.testing.assert_allclose(saliency(gradient), [[1.0, 0.0], [0.0, 0.5]])


def test_a_build_scores_its_explanations_on_n_samples(tmp_path, capsys):
    out = tmp_path / "c"
    assert cli.main(["--samples", "4", "--perplexities", "2", "--faithfulness", "2", "--out", str(out)]) == 0
    con = catalog.open(out)
    manifest = catalog.load_manifest(out)
    target = con.execute("SELECT layer_id FROM layers WHERE name = ?",
                         [manifest["explanations"]["target_layer"]]).fetchone()[0]
    assert manifest["faithfulness"]["samples"] == 2 and manifest["stage_seconds"]["faithfulness"] > 0
    rows = con.execute("SELECT sample_id, layer_id, method, metric, value FROM faithfulness").fetchall()
    assert len(rows) == 2 * 4 * len(METRICS)  # 2 samples x (3 stored methods + random) x the metrics
    assert {r[2] for r in rows} == {"gradcam", "guided", "guided_gradcam", "random"}
    assert {r[3] for r in rows} == set(METRICS) and {r[1] for r in rows} == {target}
    sampled = {r[0] for r in rows}
    groups = con.execute(f"SELECT DISTINCT group_name FROM samples WHERE sample_id IN {tuple(sampled)}").fetchall()
    assert len(groups) == min(2, con.execute("SELECT count(DISTINCT group_name) FROM samples").fetchone()[0])
    answer = con.execute(sql_example("faithful")).fetchall()
    assert answer and all(method in {"gradcam", "guided", "guided_gradcam", "random"} for _, method, _, _ in answer)
    assert cli.parse_args([]).faithfulness == 0  # a build scores nothing unless asked
