"""Measure the engine on labelled data: plain lists in, plain dicts out."""

from __future__ import annotations

import csv
import math
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .duplicates import nearest
from .linker import Linker, LinkerConfig
from .providers import EmbeddingProvider


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MB).

    Linux: VmHWM of this process image (ru_maxrss would carry a forking parent's peak over exec).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def read_labelled_csv(
    path: str | Path, text_column: str = "text", label_column: str = "category"
) -> tuple[list[str], list[str]]:
    """Texts and labels from a CSV with a header (RFC 4180: fields may hold commas, newlines)."""
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {text_column, label_column} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(
                f"{path}: missing column(s) {', '.join(sorted(missing))}; has {reader.fieldnames}"
            )
        texts, labels = [], []
        for row in reader:
            texts.append(row[text_column] or "")
            labels.append(row[label_column])
    return texts, labels


def keep_shots(labels: Sequence, shots: int, seed: int = 0) -> list[int]:
    """Indices keeping at most ``shots`` random (seeded) rows per label, in input order."""
    rng = np.random.default_rng(seed)
    by_label: dict = defaultdict(list)
    for i, label in enumerate(labels):
        by_label[label].append(i)
    kept: list[int] = []
    for label in sorted(by_label, key=str):
        rows = by_label[label]
        kept.extend(rng.choice(rows, size=min(shots, len(rows)), replace=False).tolist())
    return sorted(kept)


def evaluate_linking(
    train_texts: Sequence[str],
    train_labels: Sequence,
    test_texts: Sequence[str],
    test_labels: Sequence,
    provider: EmbeddingProvider,
    shots: int | None = None,
    seed: int = 0,
    *,
    use_texts: bool = True,
    config: LinkerConfig | None = None,
) -> dict:
    """Fit a Linker on the training rows and score the test rows.

    top1/top3/top5 count test rows whose label occurs in the (possibly reduced) training set;
    the others should be called "no match" (unmatched_recall, None when there are none);
    false_no_match is the share of matched rows wrongly called "no match". texts_per_second
    is embedding + suggestion of the test rows end to end.
    """
    train_texts, train_labels = list(train_texts), [str(x) for x in train_labels]
    test_texts, test_labels = list(test_texts), [str(x) for x in test_labels]
    if shots is not None:
        kept = keep_shots(train_labels, shots, seed)
        train_texts = [train_texts[i] for i in kept]
        train_labels = [train_labels[i] for i in kept]
    config = config or LinkerConfig(seed=seed)

    started = time.perf_counter()
    X_train = provider.embed(train_texts)
    embed_train_s = time.perf_counter() - started
    started = time.perf_counter()
    linker = Linker(config=config).fit(X_train, train_labels, train_texts if use_texts else None)
    fit_s = time.perf_counter() - started

    started = time.perf_counter()
    X_test = provider.embed(test_texts)
    results = linker.link(X_test, test_texts if use_texts else None, k=5)
    elapsed = time.perf_counter() - started

    known = set(train_labels)
    hits = {1: 0, 3: 0, 5: 0}
    n_matched = n_unmatched = called_unmatched = false_no_match = 0
    for result, label in zip(results, test_labels, strict=True):
        if label in known:
            n_matched += 1
            ranked = [str(s.need_id) for s in result.suggestions]
            for k in hits:
                hits[k] += label in ranked[:k]
            false_no_match += result.no_match
        else:
            n_unmatched += 1
            called_unmatched += result.no_match
    share = lambda a, b: round(a / b, 4) if b else None  # noqa: E731
    return {
        "top1": share(hits[1], n_matched),
        "top3": share(hits[3], n_matched),
        "top5": share(hits[5], n_matched),
        "unmatched_recall": share(called_unmatched, n_unmatched),
        "false_no_match": share(false_no_match, n_matched),
        "texts_per_second": round(len(test_texts) / elapsed, 1) if elapsed > 0 else None,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "n_train": len(train_texts),
        "n_test": len(test_texts),
        "fit_seconds": round(fit_s, 2),
        "embed_train_seconds": round(embed_train_s, 2),
        "chosen": {"penalty": linker.penalty, "text_weight": linker.report.get("text_weight")},
    }


def read_gitbugs(
    dataset_dir: str | Path,
) -> dict[str, tuple[list[str], list[str], list[tuple[str, str]]]]:
    """{project: (ids, texts, duplicate pairs)} from the gitbugs_duplicates folder.

    A report's text is its Summary and Description; pairs come from duplicate_pairs.csv.
    """
    root = Path(dataset_dir)
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    files = {
        "hadoop": root / "hadoop" / "hadoop_bugs.csv",
        "seamonkey": root / "seamonkey" / "SeaMonkey_bugs.csv",
    }
    pairs: dict[str, list[tuple[str, str]]] = defaultdict(list)
    with open(root / "duplicate_pairs.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            pairs[row["project"].strip().lower()].append(
                (row["issue_id_a"].strip(), row["issue_id_b"].strip())
            )
    out = {}
    for project, path in files.items():
        ids, texts = [], []
        with open(path, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                ids.append(row["Issue id"].strip())
                texts.append(f"{row.get('Summary') or ''}\n{row.get('Description') or ''}".strip())
        out[project] = (ids, texts, pairs.get(project, []))
    return out


def evaluate_duplicates(
    ids: Sequence[str],
    texts: Sequence[str],
    pairs: Sequence[tuple[str, str]],
    provider: EmbeddingProvider,
    k: int = 5,
) -> dict:
    """Recall@k of duplicate retrieval: from each report of a marked pair, is its partner among the
    k most similar other reports? Both directions count; a 95 % Wilson interval is given."""
    index = {str(i): n for n, i in enumerate(ids)}
    queries = [
        (index[str(a)], index[str(b)]) for a, b in pairs if str(a) in index and str(b) in index
    ]
    queries += [(b, a) for a, b in queries]
    started = time.perf_counter()
    X = provider.embed(list(texts))
    embed_s = time.perf_counter() - started
    rows = sorted({q for q, _ in queries})
    top, _ = nearest(X[rows], X, k + 1)
    found = 0
    position = {r: i for i, r in enumerate(rows)}
    for q, target in queries:
        neighbours = [j for j in top[position[q]].tolist() if j != q][:k]
        found += target in neighbours
    n = len(queries)
    recall = found / n if n else None
    return {
        f"recall_at_{k}": round(recall, 4) if recall is not None else None,
        "ci95": _wilson(found, n),
        "n_queries": n,
        "n_reports": len(ids),
        "texts_per_second": round(len(texts) / embed_s, 1) if embed_s > 0 else None,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def _wilson(successes: int, n: int, z: float = 1.96) -> list[float] | None:
    if n == 0:
        return None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [round(centre - half, 4), round(centre + half, 4)]
