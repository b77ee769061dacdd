"""Benchmark: CSV import rate and server time of the hottest pages at scale.

Seeds a workspace of 100k insights (through the CSV import, which is what is timed), 10k features
and 2k needs, then measures p50/p95 server time of the inbox first page, the backlog first page and
`GET /api/v1/insights`, on SQLite and (when reachable) on PostgreSQL.

    .venv/bin/python bench/run.py                 # both databases, full size
    .venv/bin/python bench/run.py --insights 20000 --only sqlite

Results are printed and written to bench/results/<db>.json; `--write-docs` also updates
docs/benchmarks.md.
"""

import argparse
import csv
import datetime as dt
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PG_URL = "postgres://postgres@127.0.0.1:5432/quarterdeck_bench"

WORDS = (
    "project dashboard mentor session schedule feedback certificate job offer interview portfolio "
    "course video quiz deadline reminder calendar mobile offline notification login password cohort "
    "assignment grade review employer placement attendance absence slow export report search"
).split()


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()}"
    )


def write_csv(path: Path, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    segments = ["student", "mentor", "employer", "employee"]
    sources = ["interview", "support", "survey", "app_review", "sales_call", "email"]
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "text",
                "source",
                "external_id",
                "stakeholder_email",
                "stakeholder_name",
                "segment",
                "captured_at",
                "tags",
            ]
        )
        for i in range(n):
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30))).capitalize() + "."
            person = rng.randint(0, 4999)
            w.writerow(
                [
                    text,
                    rng.choice(sources),
                    f"B-{i}",
                    f"person{person}@example.org",
                    f"Person {person}",
                    segments[person % 4],
                    (start + dt.timedelta(minutes=i * 3)).isoformat(),
                    ",".join(rng.sample(WORDS, 2)),
                ]
            )


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def run_one(db: str, n_insights: int, n_features: int, n_needs: int, repeats: int) -> dict:
    """Runs inside a child process whose environment selects the database."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quarterdeck.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from quarterdeck.accounts.models import Membership, Role
    from quarterdeck.accounts.services import token_create, user_get_or_create, workspace_create
    from quarterdeck.backlog.models import Feature, Status
    from quarterdeck.insights.models import Insight, InsightLink, Need

    call_command("migrate", verbosity=0, interactive=False)
    ws = workspace_create(slug="bench", name="Bench", admin_email="bench-admin@example.com")
    pm = user_get_or_create(email="bench-pm@example.com", password="bench")
    Membership.objects.create(workspace=ws, user=pm, role=Role.PRODUCT_MANAGER)

    rng = random.Random(3)
    needs = Need.objects.bulk_create(
        Need(workspace=ws, title=f"Need {i}: " + " ".join(rng.sample(WORDS, 4)))
        for i in range(n_needs)
    )
    statuses = list(Status.values)
    Feature.objects.bulk_create(
        (
            Feature(
                workspace=ws,
                title=f"Feature {i}: " + " ".join(rng.sample(WORDS, 3)),
                status=rng.choice(statuses),
                score=rng.random() * 10 if rng.random() > 0.1 else None,
            )
            for i in range(n_features)
        ),
        batch_size=2000,
    )

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "insights.csv"
        write_csv(path, n_insights)
        t0 = time.perf_counter()
        call_command("import_insights", str(path), workspace="bench", verbosity=0)
        import_s = time.perf_counter() - t0
    count = Insight.objects.filter(workspace=ws).count()
    assert count == n_insights, f"imported {count} of {n_insights}"

    ids = list(Insight.objects.filter(workspace=ws).values_list("id", flat=True)[: n_insights // 2])
    InsightLink.objects.bulk_create(
        (
            InsightLink(workspace=ws, insight_id=i, need=rng.choice(needs), importance=2)
            for i in ids
        ),
        batch_size=5000,
        ignore_conflicts=True,
    )
    Insight.objects.filter(id__in=ids).update(state="triaged")
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE")

    _token, key = token_create(workspace=ws, user=pm)
    web = Client()
    web.force_login(pm)
    api = Client(headers={"Authorization": f"Bearer {key}"})
    targets = {
        "inbox first page": (web, "/w/bench/insights/inbox/"),
        "backlog first page": (web, "/w/bench/features/"),
        "GET /api/v1/insights": (api, "/api/v1/insights"),
    }
    timings = {}
    for label, (client, url) in targets.items():
        for _ in range(3):  # warm up
            assert client.get(url).status_code == 200, url
        samples = []
        for _ in range(repeats):
            t = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200
        timings[label] = {
            "p50_ms": round(statistics.median(samples), 1),
            "p95_ms": round(percentile(samples, 0.95), 1),
        }
    return {
        "database": db,
        "insights": n_insights,
        "features": n_features,
        "needs": n_needs,
        "import_seconds": round(import_s, 2),
        "import_rows_per_s": round(n_insights / import_s),
        "pages": timings,
    }


def child(args) -> None:
    result = run_one(args.child, args.insights, args.features, args.needs, args.repeats)
    print("RESULT " + json.dumps(result))


def pg_reachable() -> bool:
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-q"]).returncode == 0


def spawn(db: str, args) -> dict | None:
    env = dict(os.environ)
    tmp = tempfile.mkdtemp(prefix=f"qd-bench-{db}-")
    env["QUARTERDECK_DATA_DIR"] = tmp
    env["TASK_BACKEND"] = "dummy"
    env.pop("DATABASE_URL", None)
    if db == "postgresql":
        subprocess.run(
            ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "quarterdeck_bench"],
            check=True,
        )
        subprocess.run(
            ["createdb", "-h", "127.0.0.1", "-U", "postgres", "quarterdeck_bench"], check=True
        )
        env["DATABASE_URL"] = PG_URL
    cmd = [
        sys.executable,
        __file__,
        "--child",
        db,
        "--insights",
        str(args.insights),
        "--features",
        str(args.features),
        "--needs",
        str(args.needs),
        "--repeats",
        str(args.repeats),
    ]
    out = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    print(out.stdout[-3000:], out.stderr[-3000:], file=sys.stderr)
    return None


def to_markdown(results: list[dict]) -> str:
    lines = [
        "| database | import rows/s | inbox p50 / p95 | backlog p50 / p95 | API insights p50 / p95 |",
        "|---|---|---|---|---|",
    ]
    for r in results:

        def cell(k: str, p: dict = r["pages"]) -> str:
            return f"{p[k]['p50_ms']} / {p[k]['p95_ms']} ms"

        lines.append(
            f"| {r['database']} | {r['import_rows_per_s']:,} ({r['insights']:,} rows in "
            f"{r['import_seconds']} s) | {cell('inbox first page')} | "
            f"{cell('backlog first page')} | {cell('GET /api/v1/insights')} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--insights", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=10_000)
    parser.add_argument("--needs", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    dbs = [args.only] if args.only else ["sqlite", "postgresql"]
    results = []
    for db in dbs:
        if db == "postgresql" and not pg_reachable():
            print("PostgreSQL not reachable on 127.0.0.1:5432: skipped")
            continue
        print(f"Running on {db}…", flush=True)
        result = spawn(db, args)
        if result:
            results.append(result)
            RESULTS.mkdir(parents=True, exist_ok=True)
            (RESULTS / f"{db}.json").write_text(json.dumps(result, indent=2))
    table = to_markdown(results)
    print(f"\nMachine: {machine()}; date {dt.date.today().isoformat()}\n\n{table}")
    if args.write_docs and results:
        update_docs(table)


def update_docs(table: str) -> None:
    doc = ROOT / "docs" / "benchmarks.md"
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    start, end = "<!-- bench/run.py:start -->", "<!-- bench/run.py:end -->"
    block = (
        f"{start}\nMachine: {machine()}. Date: {dt.date.today().isoformat()}. "
        f"Command: `.venv/bin/python bench/run.py --write-docs`.\n\n{table}\n{end}"
    )
    if start in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text += "\n" + block + "\n"
    doc.write_text(text)


if __name__ == "__main__":
    main()
