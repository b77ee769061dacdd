"""Measure duplicate detection: recall@5 of maintainer-marked duplicate bug reports."""

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from quarterdeck.linking.engine.evaluate import evaluate_duplicates, read_gitbugs
from quarterdeck.linking.engine.providers import ProviderError
from quarterdeck.linking.management.commands.eval_linking import provider_named


def default_dir() -> Path:
    """`shared/datasets/gitbugs_duplicates` in the repository root, or next to it."""
    root = Path(settings.BASE_DIR).parent
    candidates = [
        base / "shared" / "datasets" / "gitbugs_duplicates" for base in (root, root.parent)
    ]
    return next((c for c in candidates if c.is_dir()), candidates[-1])


class Command(BaseCommand):
    help = "Evaluate duplicate detection (recall@k) on the gitbugs_duplicates data set."

    def add_arguments(self, parser):
        parser.add_argument(
            "--data",
            default=None,
            help="Data set folder (default: shared/datasets/gitbugs_duplicates).",
        )
        parser.add_argument("--k", type=int, default=5)
        parser.add_argument(
            "--provider", default=None, help="default, tfidf or http (default: EMBEDDING_PROVIDER)."
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args, **options):
        folder = Path(options["data"]) if options["data"] else default_dir()
        if not (folder / "duplicate_pairs.csv").is_file():
            raise CommandError(
                f"no duplicate data set at {folder} (expected duplicate_pairs.csv, hadoop/ and "
                "seamonkey/ there); pass --data DIR"
            )
        try:
            provider = provider_named(options["provider"] or settings.EMBEDDING_PROVIDER)
            projects = read_gitbugs(folder)
            per_project = {
                name: evaluate_duplicates(ids, texts, pairs, provider, k=options["k"])
                for name, (ids, texts, pairs) in projects.items()
            }
        except (ProviderError, OSError, KeyError) as exc:
            raise CommandError(str(exc)) from exc
        key = f"recall_at_{options['k']}"
        n = sum(r["n_queries"] for r in per_project.values())
        found = sum((r[key] or 0) * r["n_queries"] for r in per_project.values())
        result = {
            key: round(found / n, 4) if n else None,
            "n_queries": n,
            "provider": provider.name,
            "projects": per_project,
        }
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        self.stdout.write(f"{key}: {result[key]} over {n} queries ({provider.name})")
        for name, r in per_project.items():
            self.stdout.write(f"  {name}: {r[key]} (95% CI {r['ci95']}, {r['n_queries']} queries)")
