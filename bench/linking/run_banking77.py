"""Link-suggestion figures on BANKING77 (one command).

    .venv/bin/python bench/linking/run_banking77.py [--provider default|tfidf] [--quick]
        [--out bench/linking/results/banking77.json]

Scenarios: the full training set (end to end: texts/s counts embedding + suggestion of the test
set), 10 rows per label (seeds 0–2), and 10 labels removed from training (seeds 0–1: their test
rows must be called "no match"). Hyper-parameters are chosen by the Linker's own
cross-validation on the training rows; the test set is never used to choose anything.
Serving memory is measured in a fresh process that loads the model and a stored Linker and links
1,000 texts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from quarterdeck.linking.engine import Linker, evaluate_linking, get_provider, read_labelled_csv  # noqa: E402
from quarterdeck.linking.engine.evaluate import peak_rss_mb  # noqa: E402

DATA = Path(os.environ.get("BANKING77_DIR", "/work/shared/datasets/banking77"))


class MemoProvider:
    """Remembers vectors by text so that scenarios after the first skip re-embedding."""

    def __init__(self, inner):
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.memo: dict[str, np.ndarray] = {}

    def embed(self, texts):
        missing = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if missing:
            self.memo.update(zip(missing, self.inner.embed(missing), strict=True))
        return (
            np.stack([self.memo[t] for t in texts])
            if texts
            else np.zeros((0, self.dim), np.float32)
        )


def serving_memory(provider_name: str, linker_path: str, texts_path: str) -> None:
    """Child process: load model + Linker, link the texts, print peak RSS."""
    provider = get_provider(provider_name)
    linker = Linker.from_bytes(Path(linker_path).read_bytes())
    texts = json.loads(Path(texts_path).read_text())
    linker.link(provider.embed(["warm up"]), ["warm up"])  # load the model outside the timing
    started = time.perf_counter()
    for s in range(0, len(texts), 100):
        batch = texts[s : s + 100]
        linker.link(provider.embed(batch), batch)
    elapsed = time.perf_counter() - started
    print(
        json.dumps(
            {
                "peak_rss_mb": round(peak_rss_mb(), 1),
                "texts_per_second": round(len(texts) / elapsed, 1),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--provider", default="default")
    parser.add_argument("--quick", action="store_true", help="one seed per scenario")
    parser.add_argument("--out", default=str(ROOT / "bench/linking/results/banking77.json"))
    parser.add_argument("--serving-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serving_child:
        serving_memory(args.provider, *args.serving_child)
        return

    train_texts, train_labels = read_labelled_csv(DATA / "train.csv")
    test_texts, test_labels = read_labelled_csv(DATA / "test.csv")
    real = get_provider(args.provider)
    results: dict = {
        "machine": f"{os.cpu_count()} CPU cores, {platform.processor() or platform.machine()}",
        "provider": real.name,
        "date": time.strftime("%Y-%m-%d"),
    }

    print("full training set (end to end)…", flush=True)
    results["full"] = evaluate_linking(train_texts, train_labels, test_texts, test_labels, real)
    print(json.dumps(results["full"]), flush=True)

    memo = MemoProvider(real)
    memo.embed(train_texts + test_texts)
    results["full_vectors_only"] = evaluate_linking(
        train_texts, train_labels, test_texts, test_labels, memo, use_texts=False
    )
    print("vectors only:", json.dumps(results["full_vectors_only"]), flush=True)

    seeds = [0] if args.quick else [0, 1, 2]
    shots = [
        evaluate_linking(train_texts, train_labels, test_texts, test_labels, memo, 10, s)
        for s in seeds
    ]
    results["shots10"] = {
        "runs": shots,
        "top1_mean": round(float(np.mean([r["top1"] for r in shots])), 4),
    }
    print("10 per label:", json.dumps(results["shots10"]), flush=True)

    labels = sorted(set(train_labels))
    unmatched = []
    for seed in seeds[:2] if not args.quick else seeds:
        removed = set(
            np.random.default_rng(100 + seed).choice(labels, size=10, replace=False).tolist()
        )
        keep = [i for i, label in enumerate(train_labels) if label not in removed]
        run = evaluate_linking(
            [train_texts[i] for i in keep],
            [train_labels[i] for i in keep],
            test_texts,
            test_labels,
            memo,
            seed=seed,
        )
        run["removed"] = sorted(removed)
        unmatched.append(run)
        print("10 labels removed:", json.dumps(run), flush=True)
    results["unmatched10"] = unmatched

    # serving memory: a fresh process with the model and a stored Linker
    linker = Linker().fit(memo.embed(train_texts), train_labels, train_texts)
    with tempfile.TemporaryDirectory() as tmp:
        linker_path, texts_path = Path(tmp) / "linker.npz", Path(tmp) / "texts.json"
        linker_path.write_bytes(linker.to_bytes())
        texts_path.write_text(json.dumps(test_texts[:1000]))
        results["linker_bytes"] = linker_path.stat().st_size
        child = subprocess.run(  # noqa: S603
            [
                sys.executable,
                __file__,
                "--provider",
                args.provider,
                "--serving-child",
                str(linker_path),
                str(texts_path),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        results["serving"] = json.loads(child.stdout.strip().splitlines()[-1])
    print(
        "serving:",
        json.dumps(results["serving"]),
        "linker bytes:",
        results["linker_bytes"],
        flush=True,
    )

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
