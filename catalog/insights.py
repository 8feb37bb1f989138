"""Questions asked of a whole catalog: what a channel responds to, which classes get confused,
what a selection of samples holds. Each is one query over `catalog.open`'s views (the UI caches)."""
from __future__ import annotations

import pandas as pd

from core.imagenet import group_of

LABELS = {"class": "label_name", "group": "group_name"}


def channel_top_samples(con, layer_id: int, channel: int, k: int = 9) -> pd.DataFrame:
    """The k samples with the highest mean activation at one channel: sample_id, mean, label_name."""
    return con.cursor().execute("""
        SELECT c.sample_id, c.mean, s.label_name FROM channels c JOIN samples s USING (sample_id)
        WHERE c.layer_id = ? AND c.channel = ? ORDER BY c.mean DESC, c.sample_id LIMIT ?""",
                                [int(layer_id), int(channel), int(k)]).df()


def class_channel_means(con, layer_id: int, by: str = "class") -> pd.DataFrame:
    """Mean activation of every channel of a layer, per class (or coarse group): rows x channels."""
    long = con.cursor().execute(f"""
        SELECT s.{LABELS[by]} AS label, c.channel, avg(c.mean) AS mean
        FROM channels c JOIN samples s USING (sample_id) WHERE c.layer_id = ?
        GROUP BY ALL""", [int(layer_id)]).df()
    return long.pivot(index="label", columns="channel", values="mean").sort_index()


def predictions_with_truth(con) -> pd.DataFrame:
    """sample_id, true and top-1 predicted class and group, correct."""
    frame = con.cursor().execute("""
        SELECT s.sample_id, s.label_name, s.group_name, p.class_idx, p.class_name
        FROM samples s JOIN predictions p ON p.sample_id = s.sample_id AND p.rank = 1
        ORDER BY s.sample_id""").df()
    frame["predicted_group"] = [group_of(int(i)) for i in frame["class_idx"]]
    frame["correct"] = frame["label_name"] == frame["class_name"]
    return frame


def confusion_matrix(con, by: str = "group", sample_ids: list[int] | None = None,
                     truth: pd.DataFrame | None = None) -> pd.DataFrame:
    """Counts of true (rows) x predicted (columns) class or coarse group; `truth`: predictions_with_truth's
    frame if the caller keeps one (the app caches it: at 50,000 samples the query costs 0.1 s)."""
    frame = predictions_with_truth(con) if truth is None else truth
    if sample_ids is not None:
        frame = frame[frame["sample_id"].isin(sample_ids)]
    true, predicted = ("label_name", "class_name") if by == "class" else ("group_name", "predicted_group")
    return pd.crosstab(frame[true], frame[predicted]).rename_axis(index="true", columns="predicted")


def most_confused_pairs(con, limit: int = 10) -> pd.DataFrame:
    """true label, predicted label, how often: the most frequent mistakes first."""
    return con.cursor().execute("""
        SELECT s.label_name AS true_label, p.class_name AS predicted, count(*) AS n
        FROM samples s JOIN predictions p ON p.sample_id = s.sample_id AND p.rank = 1
        WHERE p.class_idx <> s.label_idx GROUP BY ALL ORDER BY n DESC, true_label, predicted LIMIT ?""",
                                [int(limit)]).df()


def selection_summary(con, sample_ids: list[int], truth: pd.DataFrame | None = None) -> dict:
    """Class counts and top-1 accuracy of a selection of samples (`truth`: as for confusion_matrix)."""
    frame = predictions_with_truth(con) if truth is None else truth
    chosen = frame[frame["sample_id"].isin(sample_ids)]
    return {"n": len(chosen),
            "accuracy": float(chosen["correct"].mean()) if len(chosen) else None,
            "classes": chosen["label_name"].value_counts().to_dict()}
