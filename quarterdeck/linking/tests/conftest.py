"""Linking tests use the model-free TF-IDF provider, run background tasks immediately and start
with no vector index in memory."""

import pytest

from quarterdeck.linking import indexes

IMMEDIATE_TASKS = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": []}
}


@pytest.fixture(autouse=True)
def tfidf_and_immediate_tasks(settings):
    settings.EMBEDDING_PROVIDER = "tfidf"
    settings.TASKS = IMMEDIATE_TASKS
    indexes.clear()
    yield
