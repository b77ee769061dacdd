"""Measure link suggestions on a labelled train / test split (each label plays a need)."""

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from quarterdeck.linking.engine.evaluate import evaluate_linking, read_labelled_csv
from quarterdeck.linking.engine.providers import ProviderError, get_provider

KEYS = (
    "top1",
    "top3",
    "top5",
    "unmatched_recall",
    "false_no_match",
    "texts_per_second",
    "peak_rss_mb",
    "n_train",
    "n_test",
)


def provider_named(name: str):
    if name == "http":
        return get_provider(
            "http",
            url=settings.EMBEDDING_HTTP_URL,
            model=settings.EMBEDDING_HTTP_MODEL,
            api_key=settings.EMBEDDING_HTTP_KEY or None,
        )
    return get_provider(name)


class Command(BaseCommand):
    help = "Evaluate link suggestions: top-1/3/5 accuracy and no-match decisions on a CSV split."

    def add_arguments(self, parser):
        parser.add_argument("--train", required=True, help="CSV of labelled training rows.")
        parser.add_argument("--test", required=True, help="CSV of labelled test rows.")
        parser.add_argument("--text-column", default="text")
        parser.add_argument("--label-column", default="category")
        parser.add_argument(
            "--shots", type=int, default=None, help="Keep at most K training rows per label."
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--provider", default=None, help="default, tfidf or http (default: EMBEDDING_PROVIDER)."
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args, **options):
        for key in ("train", "test"):
            if not Path(options[key]).is_file():
                raise CommandError(f"--{key}: no such file {options[key]}")
        if options["shots"] is not None and options["shots"] < 1:
            raise CommandError("--shots must be at least 1")
        try:
            train = read_labelled_csv(
                options["train"], options["text_column"], options["label_column"]
            )
            test = read_labelled_csv(
                options["test"], options["text_column"], options["label_column"]
            )
        except (ValueError, UnicodeDecodeError) as exc:
            raise CommandError(str(exc)) from exc
        if not train[0]:
            raise CommandError(f"--train: {options['train']} has no rows")
        try:
            provider = provider_named(options["provider"] or settings.EMBEDDING_PROVIDER)
            result = evaluate_linking(
                *train, *test, provider, shots=options["shots"], seed=options["seed"]
            )
        except ProviderError as exc:
            raise CommandError(str(exc)) from exc
        result = {**{k: result.get(k) for k in KEYS}, **result, "provider": provider.name}
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        for key, value in result.items():
            self.stdout.write(f"{key:>18}: {value}")
