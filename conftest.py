"""Personas shared by every test: an admin, a PM, a contributor, a viewer, a stakeholder member,
all in workspace `acme`, and an outsider who is admin of another workspace `globex`."""

import os
import shutil

import pytest

from quarterdeck.accounts.models import Role
from quarterdeck.testing.factories import (
    MembershipFactory,
    UserFactory,
    WorkspaceFactory,
    make_token,
)

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def pytest_collection_modifyitems(config, items):
    if os.path.exists(CHROMIUM) or shutil.which("chromium"):
        return
    skip = pytest.mark.skip(reason=f"browser journey skipped: Chromium not found at {CHROMIUM}")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        terminalreporter.write_line(
            f"NOTE: Chromium not found at {CHROMIUM}: browser journeys were skipped "
            "(apt-get install chromium to run them)."
        )


@pytest.fixture(autouse=True)
def _fast_embeddings(settings):
    """Tests embed with the model-free TF-IDF provider; tests of the bundled model ask for it."""
    settings.EMBEDDING_PROVIDER = "tfidf"


@pytest.fixture
def acme(db):
    return WorkspaceFactory(slug="acme", name="Acme Learning")


@pytest.fixture
def globex(db):
    return WorkspaceFactory(slug="globex", name="Globex")


def _member(workspace, email, role):
    return MembershipFactory(workspace=workspace, user=UserFactory(email=email), role=role)


@pytest.fixture
def alice(acme):
    """Admin of acme."""
    return _member(acme, "alice@example.com", Role.ADMIN).user


@pytest.fixture
def paula(acme):
    """Product manager in acme."""
    return _member(acme, "paula@example.com", Role.PRODUCT_MANAGER).user


@pytest.fixture
def carl(acme):
    """Contributor (squad member) in acme."""
    return _member(acme, "carl@example.com", Role.CONTRIBUTOR).user


@pytest.fixture
def victor(acme):
    """Viewer in acme."""
    return _member(acme, "victor@example.com", Role.VIEWER).user


@pytest.fixture
def stella(acme):
    """A stakeholder member of acme (read-only)."""
    return _member(acme, "stella@example.com", Role.STAKEHOLDER).user


@pytest.fixture
def oscar(globex):
    """Outsider: admin of another workspace."""
    return _member(globex, "oscar@example.com", Role.ADMIN).user


@pytest.fixture
def pm_client(client, paula):
    client.force_login(paula)
    return client


@pytest.fixture
def viewer_client(client, victor):
    client.force_login(victor)
    return client


@pytest.fixture
def outsider_client(client, oscar):
    client.force_login(oscar)
    return client


def _api_client(user, workspace):
    from django.test import Client

    from quarterdeck.accounts.models import Membership

    token = make_token(Membership.objects.get(user=user, workspace=workspace))
    return Client(headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def pm_api(paula, acme):
    return _api_client(paula, acme)


@pytest.fixture
def viewer_api(victor, acme):
    return _api_client(victor, acme)


@pytest.fixture
def outsider_api(oscar, globex):
    return _api_client(oscar, globex)


pytest_plugins = ["quarterdeck.testing.browser"]
