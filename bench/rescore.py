"""Benchmark: re-scoring a whole workspace of N features (default 100,000).

Seeds a scratch database with features that have real score inputs (needs with linked insights
from weighted stakeholders and segments, driver contributions, key results, evaluations), then
times `quarterdeck.strategy.ranking.recompute_workspace`:

  * first scoring (every score, demand and term row is written),
  * a re-score where nothing changed (read + compute only),
  * a re-score after a driver weight change (about half the scores change and are written),
  * a re-score after the demand of 1,000 needs was forgotten (as new evidence does),

each printed as one line with its phases (loading inputs, computing scores, writing what
changed) and the total; `--repeat N` runs the last three N times (the weight going back and forth,
so each run writes about half the scores). SQLite in a temporary directory, removed at the end,
by default; PostgreSQL when DATABASE_URL is set (use a scratch database: it is migrated and
filled, then vacuumed and analysed, as autovacuum keeps a live database). The load average of
the machine is printed before and after, since a busy machine slows every phase.

    .venv/bin/python bench/rescore.py
    .venv/bin/python bench/rescore.py --features 20000 --repeat 3
    DATABASE_URL=postgres://user@127.0.0.1:5432/qd_bench .venv/bin/python bench/rescore.py
"""

import argparse
import atexit
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django() -> str:
    if not os.environ.get("DATABASE_URL"):
        scratch = tempfile.mkdtemp(prefix="qd-rescore-")
        atexit.register(shutil.rmtree, scratch, ignore_errors=True)
        os.environ["QUARTERDECK_DATA_DIR"] = scratch
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quarterdeck.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    return connection.vendor


def seed(n: int, seed_value: int = 7):
    import datetime as dt

    from django.db import transaction
    from django.utils import timezone

    from quarterdeck.accounts.models import Workspace
    from quarterdeck.backlog.models import Evaluation, Feature, FeatureDriver
    from quarterdeck.insights.models import Insight, InsightLink, Need, Segment, Stakeholder
    from quarterdeck.strategy.models import CheckIn, Driver, KeyResult, Objective

    rng = random.Random(seed_value)
    now = timezone.now()
    slug = f"bench-{int(time.time())}"
    batch = 5000
    with transaction.atomic():
        ws = Workspace.objects.create(slug=slug, name="Rescore bench")
        segments = Segment.objects.bulk_create(
            Segment(workspace=ws, key=k, name=k.title(), weight=w)
            for k, w in (("student", 1.0), ("mentor", 1.5), ("employer", 2.0), ("employee", 1.2))
        )
        stakeholders = Stakeholder.objects.bulk_create(
            (
                Stakeholder(
                    workspace=ws,
                    name=f"Person {i}",
                    segment=rng.choice(segments),
                    weight=rng.choice((1.0, 1.0, 1.5, 3.0)),
                )
                for i in range(max(n // 5, 10))
            ),
            batch_size=batch,
        )
        drivers = Driver.objects.bulk_create(
            Driver(workspace=ws, name=name, weight=w)
            for name, w in (
                ("Acquisition", 1.0),
                ("User engagement", 1.5),
                ("Job placement", 2.0),
                ("Automation", 0.5),
            )
        )
        objective = Objective.objects.create(
            workspace=ws, title="Engaged students", quarter="2026-Q4"
        )
        krs = [
            KeyResult.objects.create(
                objective=objective, metric=f"Metric {i}", baseline=10, target=20
            )
            for i in range(5)
        ]
        CheckIn.objects.bulk_create(
            CheckIn(
                key_result=kr,
                value=11 + i,
                confidence=0.4 + 0.1 * i,
                checked_on=dt.date(2026, 10, 15),
            )
            for i, kr in enumerate(krs)
        )
        features = Feature.objects.bulk_create(
            (Feature(workspace=ws, title=f"Feature {i}", status="new") for i in range(n)),
            batch_size=batch,
        )
        needs = Need.objects.bulk_create(
            (Need(workspace=ws, title=f"Need {i}") for i in range(n)), batch_size=batch
        )
        insights = Insight.objects.bulk_create(
            (
                Insight(
                    workspace=ws,
                    text=f"Insight {i}",
                    stakeholder=(sh := rng.choice(stakeholders)),
                    segment_id=sh.segment_id,
                    captured_at=now - dt.timedelta(days=rng.randint(0, 400)),
                )
                for i in range(3 * n)
            ),
            batch_size=batch,
        )
        InsightLink.objects.bulk_create(
            (
                InsightLink(
                    workspace=ws,
                    need=needs[i // 3],
                    insight=insight,
                    importance=rng.randint(1, 3),
                )
                for i, insight in enumerate(insights)
            ),
            batch_size=batch,
        )
        Feature.needs.through.objects.bulk_create(
            (
                Feature.needs.through(feature_id=f.pk, need_id=needs[i].pk)
                for i, f in enumerate(features)
            ),
            batch_size=batch,
        )
        FeatureDriver.objects.bulk_create(
            (
                FeatureDriver(feature=f, driver=d, contribution=rng.randint(1, 3))
                for f in features
                for d in rng.sample(drivers, 2)
            ),
            batch_size=batch,
        )
        Feature.key_results.through.objects.bulk_create(
            (
                Feature.key_results.through(feature_id=f.pk, keyresult_id=rng.choice(krs).pk)
                for f in features
                if rng.random() < 0.2
            ),
            batch_size=batch,
        )
        Evaluation.objects.bulk_create(
            (
                Evaluation(
                    feature=f,
                    effort=rng.choice((0.5, 1, 2, 3, 5, 8, 13)),
                    risk=rng.choice(("low", "medium", "high")),
                    confidence=rng.choice((0.5, 0.7, 0.9)),
                )
                for f in features
                if rng.random() < 0.9
            ),
            batch_size=batch,
        )
    return ws, drivers


def refresh_statistics() -> None:
    """VACUUM ANALYZE on PostgreSQL: planner statistics and visibility as on a live database,
    where autovacuum keeps them (right after a bulk load the planner still sees empty tables)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def report(label: str, seconds: float, result) -> None:
    """One summary line per re-score: each phase, the total, and what was written."""
    phases = result.seconds
    print(
        f"{label:<34} load inputs {phases.get('load', 0.0):6.3f} s | "
        f"compute {phases.get('compute', 0.0):6.3f} s | write {phases.get('write', 0.0):6.3f} s | "
        f"total {seconds:6.3f} s  ({result.changed:,} scores written, "
        f"{result.recorded:,} rank changes recorded)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each repeated re-score")
    args = parser.parse_args()
    vendor = setup_django()
    from quarterdeck.strategy import ranking

    print(f"database: {vendor}; {os.cpu_count()} cores; Python {platform.python_version()}")
    seconds, (ws, drivers) = timed(lambda: seed(args.features))
    print(f"seeded {args.features:,} features (3 insights, 2 drivers each) in {seconds:.1f} s")
    refresh_statistics()
    print(load())

    seconds, result = timed(lambda: ranking.recompute_workspace(ws, reason="bench"))
    report("first scoring:", seconds, result)

    for run in range(args.repeat):
        seconds, result = timed(lambda: ranking.recompute_workspace(ws, reason="bench"))
        report("re-score, nothing changed:", seconds, result)

        drivers[1].weight = 3.0 if run % 2 == 0 else 1.5
        drivers[1].save(update_fields=["weight"])
        seconds, result = timed(lambda: ranking.recompute_workspace(ws, reason="bench weight"))
        report("re-score after a weight change:", seconds, result)

    # New evidence on 1,000 needs: their stored demand is forgotten, as linking does, and summed
    # again by the next re-score.
    from quarterdeck.insights.models import Need
    from quarterdeck.strategy import demand

    for run in range(args.repeat):
        needs = list(
            Need.objects.filter(workspace=ws)
            .order_by("id")
            .values_list("id", flat=True)[run * 1000 : (run + 1) * 1000]
        )
        demand.forget(ws.pk, needs)
        seconds, result = timed(lambda: ranking.recompute_workspace(ws, reason="bench evidence"))
        report("re-score, 1,000 needs' demand new:", seconds, result)
    print(load())

    # The detailed path (one item per insight, as explanations use) on a sample, for reference.
    from quarterdeck.backlog.models import Feature

    ids = Feature.objects.filter(workspace=ws).order_by("id").values_list("id", flat=True)
    sample = list(ids[:1000])
    seconds, _ = timed(lambda: ranking.load_inputs(ws.pk, feature_ids=sample, detailed=True))
    print(f"detailed inputs of {len(sample):,} features (explanations): {seconds:.3f} s")


if __name__ == "__main__":
    main()
