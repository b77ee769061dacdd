"""The `quarterdeck` commands: create_workspace, create_token, worker, serve's helpers."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from quarterdeck.accounts.models import ApiToken, Membership, Role, User, Workspace
from quarterdeck.insights.models import Segment


def test_create_workspace_makes_the_admin_and_default_segments(db):
    out = io.StringIO()
    call_command(
        "create_workspace",
        "initech",
        name="Initech",
        admin="boss@initech.example",
        password="s3cret-pass",
        stdout=out,
    )
    workspace = Workspace.objects.get(slug="initech")
    assert workspace.name == "Initech"
    membership = Membership.objects.get(workspace=workspace)
    assert membership.role == Role.ADMIN and membership.user.email == "boss@initech.example"
    assert membership.user.check_password("s3cret-pass")
    assert set(Segment.objects.filter(workspace=workspace).values_list("key", flat=True)) == {
        "student",
        "mentor",
        "employer",
        "employee",
    }
    assert "Created workspace initech" in out.getvalue()


def test_create_workspace_prints_a_generated_password_for_a_new_admin(db):
    out = io.StringIO()
    call_command("create_workspace", "w2", name="W2", admin="new@example.com", stdout=out)
    password = out.getvalue().split("Password for new@example.com: ")[1].strip()
    assert User.objects.get(email="new@example.com").check_password(password)


def test_create_workspace_refuses_an_existing_slug(acme):
    with pytest.raises(CommandError, match="A workspace with the slug 'acme' already exists"):
        call_command("create_workspace", "acme", name="Again", admin="x@example.com")


def test_create_workspace_refuses_a_bad_slug_or_email(db):
    with pytest.raises(CommandError, match="not a valid slug"):
        call_command("create_workspace", "no spaces", name="X", admin="x@example.com")
    with pytest.raises(CommandError, match="not an email address"):
        call_command("create_workspace", "ok", name="X", admin="nope")


def test_create_token_prints_only_a_token_that_authenticates(paula, acme):
    out = io.StringIO()
    call_command("create_token", "paula@example.com", workspace="acme", stdout=out)
    key = out.getvalue().strip()
    assert "\n" not in key and key.startswith(ApiToken.PREFIX)
    token = ApiToken.objects.for_key(key).get()
    assert token.user == paula and token.workspace == acme
    client = Client(headers={"Authorization": f"Bearer {key}"})
    assert client.get("/api/v1/insights").status_code == 200
    anonymous = Client().get("/api/v1/insights")
    assert anonymous.status_code == 401


def test_create_token_names_what_is_missing(paula, acme, globex):
    with pytest.raises(CommandError, match="No workspace with the slug 'nope'"):
        call_command("create_token", "paula@example.com", workspace="nope")
    with pytest.raises(CommandError, match="No user with the email 'ghost@example.com'"):
        call_command("create_token", "ghost@example.com", workspace="acme")
    with pytest.raises(CommandError, match="paula@example.com is not a member of the workspace"):
        call_command("create_token", "paula@example.com", workspace="globex")
    assert not ApiToken.objects.exists()


def test_worker_explains_a_backend_without_workers(db, settings):
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": []}
    }
    with pytest.raises(CommandError, match="nothing for a worker to do"):
        call_command("worker", batch=True)


def test_worker_runs_waiting_tasks_in_batch_mode(transactional_db):
    call_command("worker", batch=True, interval=0, verbosity=0)
