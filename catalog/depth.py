"""Questions about depth, over `catalog.open`'s views (the UI caches): each sample's path through the
layers (`trajectories`), where samples settle and where misclassified ones are lost (`settling`), and
how alike the layers' representations are (`layer_similarity`). One cursor per query."""
from __future__ import annotations

import pandas as pd

from core.imagenet import group_of


def level(con) -> str | None:
    """The level `settling` is read at: 'class', or 'group' where every class has one sample."""
    row = con.cursor().execute("SELECT any_value(level) FROM settling").fetchone()
    return row[0] if row else None


def trajectory(con, sample_id: int) -> pd.DataFrame:
    """One sample's votes in network order: layer_id, position, name, vote_class, vote_class_name,
    vote_class_share, vote_group, vote_group_share."""
    return con.cursor().execute("""
        SELECT l.layer_id, l.position, l.name, t.vote_class, c.label_name AS vote_class_name,
               t.vote_class_share, t.vote_group, t.vote_group_share
        FROM trajectories t JOIN layers l USING (layer_id)
        LEFT JOIN (SELECT label_idx, any_value(label_name) AS label_name FROM samples GROUP BY 1) c
               ON c.label_idx = t.vote_class
        WHERE t.sample_id = ? ORDER BY l.position""", [int(sample_id)]).df()


def settled_curve(con) -> pd.DataFrame:
    """Per layer in network order (layer_id, position, name): the share of all samples settled by that
    layer (`settled`), of the correctly and of the wrongly answered ones (`settled_correct`,
    `settled_wrong`), and of the wrongly answered ones already lost (`lost`); NULL where a group is
    empty. A sample settled at layer L counts from L on, so each share only grows with depth."""
    return con.cursor().execute("""
        WITH s AS (
            SELECT st.correct, ls.position AS settled_at, ll.position AS lost_at FROM settling st
            LEFT JOIN layers ls ON ls.layer_id = st.settled_layer
            LEFT JOIN layers ll ON ll.layer_id = st.lost_layer)
        SELECT l.layer_id, l.position, l.name,
               avg(coalesce(s.settled_at <= l.position, false)::INT) AS settled,
               avg(coalesce(s.settled_at <= l.position, false)::INT) FILTER (WHERE s.correct) AS settled_correct,
               avg(coalesce(s.settled_at <= l.position, false)::INT) FILTER (WHERE NOT s.correct) AS settled_wrong,
               avg(coalesce(s.lost_at <= l.position, false)::INT) FILTER (WHERE NOT s.correct) AS lost
        FROM layers l CROSS JOIN s GROUP BY ALL ORDER BY l.position""").df()


def lost_earliest(con, limit: int = 20) -> pd.DataFrame:
    """The misclassified samples whose neighbourhood left their true label shallowest: sample_id, key,
    label_name, predicted (top-1 class), lost_position, lost_at (layer name), settled_at (layer name or
    None)."""
    return con.cursor().execute("""
        SELECT st.sample_id, s.key, s.label_name, p.class_name AS predicted,
               ll.position AS lost_position, ll.name AS lost_at, ls.name AS settled_at
        FROM settling st JOIN samples s USING (sample_id)
        JOIN predictions p ON p.sample_id = st.sample_id AND p.rank = 1
        JOIN layers ll ON ll.layer_id = st.lost_layer
        LEFT JOIN layers ls ON ls.layer_id = st.settled_layer
        WHERE NOT st.correct ORDER BY ll.position, st.sample_id LIMIT ?""", [int(limit)]).df()


def layer_similarity(con) -> pd.DataFrame:
    """Linear CKA of every pair of layers as a square frame, rows and columns the layer names in
    network order."""
    long = con.cursor().execute("""
        SELECT a.name AS layer_a, a.position AS pa, b.name AS layer_b, b.position AS pb, m.cka
        FROM layer_similarity m JOIN layers a ON a.layer_id = m.layer_a JOIN layers b ON b.layer_id = m.layer_b
        ORDER BY pa, pb""").df()
    order = list(dict.fromkeys(long["layer_a"]))
    return long.pivot(index="layer_a", columns="layer_b", values="cka").loc[order, order]


def failures(con) -> pd.DataFrame:
    """The samples misclassified at the catalog's level (`level`), the shallowest lost first: sample_id,
    key, label_name, group_name, predicted, predicted_group, true and answer (the labels at that level),
    lost_position, lost_at (layer name), settled_at (layer name or None)."""
    frame = con.cursor().execute("""
        SELECT st.sample_id, s.key, s.label_name, s.group_name, p.class_name AS predicted, p.class_idx,
               st.level, ll.position AS lost_position, ll.name AS lost_at, ls.name AS settled_at
        FROM settling st JOIN samples s USING (sample_id)
        JOIN predictions p ON p.sample_id = st.sample_id AND p.rank = 1
        LEFT JOIN layers ll ON ll.layer_id = st.lost_layer
        LEFT JOIN layers ls ON ls.layer_id = st.settled_layer
        WHERE NOT st.correct ORDER BY ll.position NULLS LAST, st.sample_id""").df()
    frame["predicted_group"] = [group_of(int(i)) for i in frame["class_idx"]]
    by_class = frame["level"] == "class"
    frame["true"] = frame["label_name"].where(by_class, frame["group_name"])
    frame["answer"] = frame["predicted"].where(by_class, frame["predicted_group"])
    return frame.drop(columns=["class_idx", "level"])


def pair_confusion(con, first: str, second: str) -> pd.DataFrame:
    """How mixed two labels' neighbourhoods are at each layer (network order: layer_id, position, name):
    the share of the samples of either label whose 10 nearest others vote for the other one
    (`confusion`; NULL where neither label has a sample), with `n` those samples. Labels are classes
    or coarse groups, as `level` reads the catalog."""
    vote = ("c.label_name", "s.label_name") if level(con) == "class" else ("t.vote_group", "s.group_name")
    return con.cursor().execute(f"""
        WITH v AS (
            SELECT t.layer_id, {vote[1]} AS truth, {vote[0]} AS vote
            FROM trajectories t JOIN samples s USING (sample_id)
            LEFT JOIN (SELECT label_idx, any_value(label_name) AS label_name FROM samples GROUP BY 1) c
                   ON c.label_idx = t.vote_class
            WHERE {vote[1]} IN ($a, $b))
        SELECT l.layer_id, l.position, l.name,
               avg(((v.truth = $a AND v.vote = $b) OR (v.truth = $b AND v.vote = $a))::INT) AS confusion,
               count(v.truth) AS n
        FROM layers l LEFT JOIN v USING (layer_id) GROUP BY ALL ORDER BY l.position""",
                                 {"a": str(first), "b": str(second)}).df()
