"""Linking tests use the model-free TF-IDF provider and run background tasks immediately."""

import pytest

IMMEDIATE_TASKS = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": []}
}


@pytest.fixture(autouse=True)
def tfidf_and_immediate_tasks(settings):
    settings.EMBEDDING_PROVIDER = "tfidf"
    settings.TASKS = IMMEDIATE_TASKS
    yield
