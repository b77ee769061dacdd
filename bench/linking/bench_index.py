"""VectorIndex at scale: build, top-10 query latency (p50/p95) and recall@10 vs exact search.

    .venv/bin/python bench/linking/bench_index.py [--n 1000000] [--dim 384] [--queries 200]

Synthetic unit vectors around 5,000 random topics (a stand-in for a large workspace: real
insight vectors cluster the same way); queries are perturbed copies of stored vectors.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from quarterdeck.linking.engine import VectorIndex  # noqa: E402
from quarterdeck.linking.engine.evaluate import peak_rss_mb  # noqa: E402


def synthetic(n: int, dim: int, rng: np.random.Generator, topics: int = 5000) -> np.ndarray:
    centres = rng.standard_normal((topics, dim)).astype(np.float32)
    out = np.empty((n, dim), dtype=np.float32)
    for s in range(0, n, 100_000):
        m = min(100_000, n - s)
        block = centres[rng.integers(topics, size=m)] + 0.9 * rng.standard_normal((m, dim)).astype(
            np.float32
        )
        out[s : s + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = synthetic(args.n, args.dim, rng)
    rss_data = peak_rss_mb()

    index = VectorIndex(args.dim)
    started = time.perf_counter()
    for s in range(0, args.n, 100_000):
        index.add(range(s, min(s + 100_000, args.n)), X[s : s + 100_000])
    build_s = time.perf_counter() - started

    picks = rng.choice(args.n, size=args.queries, replace=False)
    Q = X[picks] + 0.3 * rng.standard_normal((args.queries, args.dim)).astype(np.float32) / np.sqrt(
        args.dim
    )
    Q /= np.linalg.norm(Q, axis=1, keepdims=True)
    latencies, hits = [], 0
    for q in Q:
        t = time.perf_counter()
        got = index.query(q, k=10)[0]
        latencies.append((time.perf_counter() - t) * 1000)
        exact = np.argpartition(-(X @ q), 10)[:10]
        hits += len({i for i, _ in got} & set(exact.tolist()))
    index.remove(list(range(1000)))
    t = time.perf_counter()
    index.add(range(args.n, args.n + 1000), X[:1000])
    add_ms = (time.perf_counter() - t) * 1000
    result = {
        "n": args.n,
        "dim": args.dim,
        "lists": len(index._lists),
        "nprobe": index.nprobe if index.centres is not None else None,
        "build_seconds": round(build_s, 1),
        "query_ms_p50": round(float(np.percentile(latencies, 50)), 2),
        "query_ms_p95": round(float(np.percentile(latencies, 95)), 2),
        "recall_at_10": round(hits / (10 * args.queries), 4),
        "add_1000_ms": round(add_ms, 1),
        "index_mb": round((index._codes.nbytes + index._scales.nbytes) / 2**20, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "peak_rss_mb_test_data_alone": round(rss_data, 1),
    }
    print(json.dumps(result))
    out = ROOT / "bench/linking/results/index.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
