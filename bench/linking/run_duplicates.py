"""Duplicate retrieval figures on gitbugs_duplicates: recall@5 per project (one command).

.venv/bin/python bench/linking/run_duplicates.py [--provider default|tfidf]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from quarterdeck.linking.engine import evaluate_duplicates, get_provider  # noqa: E402
from quarterdeck.linking.engine.evaluate import read_gitbugs  # noqa: E402

DATA = Path(os.environ.get("GITBUGS_DIR", "/work/shared/datasets/gitbugs_duplicates"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--provider", action="append", help="default, tfidf (repeatable)")
    args = parser.parse_args()
    results = {}
    for name in args.provider or ["default", "tfidf"]:
        provider = get_provider(name)
        for project, (ids, texts, pairs) in read_gitbugs(DATA).items():
            result = evaluate_duplicates(ids, texts, pairs, provider, k=5)
            results[f"{name}/{project}"] = result
            print(name, project, json.dumps(result), flush=True)
    out = ROOT / "bench/linking/results/duplicates.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
