"""The search path as the web app runs it: `selectors.search` and `GET /api/v1/search` over a
workspace whose insight vectors sit in the database, served from the process's vector index.

Seeds a scratch database (SQLite in a temporary folder, and PostgreSQL when reachable) with one
workspace of `--insights` insights and their vectors (synthetic clustered unit vectors in the
embedding model's 384 dimensions, like bench_index.py: embedding 200k texts would take minutes
and measures the model, not the search), 2,000 needs and 2,000 features (embedded for real on
first use). Then measures:

* the first use: the index built from the stored rows (read, quantised, lists trained);
* warm searches of insights only, and of all three kinds (p50 / p95 over `--queries` queries,
  half of them phrases that occur in the texts, half phrases that do not), with the query's
  embedding time shown apart;
* `GET /api/v1/search?q=` end to end (token auth, all kinds);
* catching up: 1,000 new vectors stored through the write path, then the next search.

    .venv/bin/python bench/linking/bench_search.py [--insights 200000] [--only sqlite]

Results are printed and written to bench/linking/results/search-<db>-<insights>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "linking" / "results"
PG_URL = "postgres://postgres@127.0.0.1:5432/quarterdeck_bench_search"
DIM = 384

WORDS = (
    "project dashboard mentor session schedule feedback certificate job offer interview portfolio "
    "course video quiz deadline reminder calendar mobile offline notification login password cohort "
    "assignment grade review employer placement attendance absence slow export report search"
).split()
ABSENT = [
    "dark mode at night",
    "invoices charged twice",
    "refund my payment",
    "screen reader support",
    "change my email address",
    "timezone of the reminders",
]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]


def summary(samples: list[float]) -> dict:
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(percentile(samples, 0.95), 2),
    }


def synthetic(n: int, rng: np.random.Generator, topics: int = 5000) -> np.ndarray:
    centres = rng.standard_normal((topics, DIM)).astype(np.float32)
    block = centres[rng.integers(topics, size=n)] + 0.9 * rng.standard_normal((n, DIM)).astype(
        np.float32
    )
    return block / np.linalg.norm(block, axis=1, keepdims=True)


def run_one(db: str, n_insights: int, n_queries: int) -> dict:
    """Runs inside a child process whose environment selects the database."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quarterdeck.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client

    from quarterdeck.accounts.models import Membership, Role
    from quarterdeck.accounts.services import token_create, user_get_or_create, workspace_create
    from quarterdeck.backlog.models import Feature
    from quarterdeck.insights.models import Insight, Need
    from quarterdeck.linking import indexes, selectors, services
    from quarterdeck.linking.models import InsightVector, VectorRevision

    call_command("migrate", verbosity=0, interactive=False)
    ws = workspace_create(slug="bench", name="Bench", admin_email="bench-admin@example.com")
    pm = user_get_or_create(email="bench-pm@example.com", password="bench")
    Membership.objects.create(workspace=ws, user=pm, role=Role.PRODUCT_MANAGER)
    provider = services.embedder()
    assert provider.dim == DIM, provider.name

    rng = random.Random(3)
    nrng = np.random.default_rng(0)
    Need.objects.bulk_create(
        Need(workspace=ws, title=f"Need {i}: " + " ".join(rng.sample(WORDS, 4)))
        for i in range(2000)
    )
    Feature.objects.bulk_create(
        Feature(workspace=ws, title=f"Feature {i}: " + " ".join(rng.sample(WORDS, 3)))
        for i in range(2000)
    )

    t0 = time.perf_counter()
    captured = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    step = 20_000
    with transaction.atomic():
        revision = services._take_revision(ws.pk)
        for start in range(0, n_insights, step):
            m = min(step, n_insights - start)
            rows = Insight.objects.bulk_create(
                (
                    Insight(
                        workspace=ws,
                        text=" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30))),
                        captured_at=captured + dt.timedelta(minutes=start + i),
                    )
                    for i in range(m)
                ),
                batch_size=5000,
            )
            vectors = synthetic(m, nrng)
            InsightVector.objects.bulk_create(
                (
                    InsightVector(
                        workspace=ws,
                        insight=insight,
                        provider=provider.name,
                        dim=DIM,
                        vector=InsightVector.pack(vector),
                        text_hash=services.text_hash(insight.text),
                        revision=revision,
                    )
                    for insight, vector in zip(rows, vectors, strict=True)
                ),
                batch_size=5000,
            )
    seed_s = time.perf_counter() - t0
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE")

    services.embed_texts(["warm the model up"])
    key = (ws.pk, provider.name, indexes.INSIGHT)
    t0 = time.perf_counter()
    with indexes.vector_index(workspace_id=key[0], provider=key[1], kind=key[2]) as index:
        assert index is not None and len(index) == n_insights
        lists = len(index._lists)
        index_mb = round(index.nbytes / 2**20, 1)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    selectors.search(ws, "warm up the needs and features")  # embeds the 4,000 titles once
    items_first_s = time.perf_counter() - t0

    queries = [" ".join(rng.sample(WORDS, 2)) for _ in range(n_queries // 2)]
    queries += [rng.choice(ABSENT) for _ in range(n_queries - len(queries))]
    rng.shuffle(queries)
    for q in queries[:10]:
        selectors.search(ws, q)
    embed, insights_only, all_kinds = [], [], []
    for q in queries:
        t = time.perf_counter()
        services.embed_texts([q])
        embed.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        hits = selectors.search(ws, q, kinds=("insights",))
        insights_only.append((time.perf_counter() - t) * 1000)
        assert len(hits["insights"]) <= 10
        t = time.perf_counter()
        selectors.search(ws, q)
        all_kinds.append((time.perf_counter() - t) * 1000)
    # the index alone: a stored vector, slightly moved, as the query
    stored = synthetic(n_queries, nrng)
    nearest = []
    for v in stored:
        t = time.perf_counter()
        indexes.nearest(workspace_id=key[0], provider=key[1], kind=key[2], vector=v, k=30)
        nearest.append((time.perf_counter() - t) * 1000)

    _token, token = token_create(workspace=ws, user=pm)
    api = Client(headers={"Authorization": f"Bearer {token}"})
    for q in queries[:5]:
        assert api.get("/api/v1/search", {"q": q}).status_code == 200
    api_ms = []
    for q in queries:
        t = time.perf_counter()
        response = api.get("/api/v1/search", {"q": q})
        api_ms.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200

    added = Insight.objects.bulk_create(
        Insight(workspace=ws, text=f"Newly arrived insight {i}", captured_at=captured)
        for i in range(1000)
    )
    before = VectorRevision.objects.get(workspace=ws).revision
    t0 = time.perf_counter()
    services._store_insight_vectors(
        provider.name, list(zip(added, synthetic(1000, nrng), strict=True))
    )
    store_ms = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    selectors.search(ws, queries[0], kinds=("insights",))
    catch_up_ms = (time.perf_counter() - t0) * 1000
    with indexes.vector_index(workspace_id=key[0], provider=key[1], kind=key[2]) as index:
        assert index is not None and len(index) == n_insights + 1000
    assert indexes.builds(workspace_id=key[0], provider=key[1], kind=key[2]) == 1
    assert VectorRevision.objects.get(workspace=ws).revision == before + 1
    return {
        "database": db,
        "insights": n_insights,
        "needs": 2000,
        "features": 2000,
        "provider": provider.name,
        "queries": n_queries,
        "seed_seconds": round(seed_s, 1),
        "first_build_seconds": round(build_s, 2),
        "index_lists": lists,
        "index_mb": index_mb,
        "items_first_search_seconds": round(items_first_s, 2),
        "query_embedding": summary(embed),
        "index_top30": summary(nearest),
        "search_insights": summary(insights_only),
        "search_all_kinds": summary(all_kinds),
        "api_search": summary(api_ms),
        "store_1000_vectors_ms": round(store_ms, 1),
        "next_search_after_1000_new_ms": round(catch_up_ms, 1),
    }


def child(args) -> None:
    result = run_one(args.child, args.insights, args.queries)
    print("RESULT " + json.dumps(result))


def pg_reachable() -> bool:
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-q"]).returncode == 0


def spawn(db: str, args) -> dict | None:
    env = dict(os.environ)
    tmp = tempfile.mkdtemp(prefix=f"qd-bench-search-{db}-")
    env["QUARTERDECK_DATA_DIR"] = tmp
    env["TASK_BACKEND"] = "dummy"
    env.setdefault("EMBEDDING_PROVIDER", "default")
    env.pop("DATABASE_URL", None)
    if db == "postgresql":
        name = PG_URL.rsplit("/", 1)[1]
        subprocess.run(
            ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", name], check=True
        )
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
        env["DATABASE_URL"] = PG_URL
    cmd = [
        sys.executable,
        __file__,
        "--child",
        db,
        "--insights",
        str(args.insights),
        "--queries",
        str(args.queries),
    ]
    out = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    shutil.rmtree(tmp, ignore_errors=True)
    if db == "postgresql":
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", name])
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    print(out.stdout[-3000:], out.stderr[-3000:], file=sys.stderr)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--insights", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    for db in [args.only] if args.only else ["sqlite", "postgresql"]:
        if db == "postgresql" and not pg_reachable():
            print("PostgreSQL not reachable on 127.0.0.1:5432: skipped")
            continue
        print(f"Running on {db}…", flush=True)
        result = spawn(db, args)
        if result:
            print(json.dumps(result, indent=2))
            RESULTS.mkdir(parents=True, exist_ok=True)
            out = RESULTS / f"search-{db}-{args.insights}.json"
            out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
