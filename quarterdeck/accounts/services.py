"""Writes for workspaces, members and API tokens."""

from django.db import transaction
from django.utils import timezone

from quarterdeck.accounts.models import ApiToken, Membership, Role, User, Workspace
from quarterdeck.core import activity

DEFAULT_SEGMENTS = [
    ("student", "Student", "#2563eb"),
    ("mentor", "Mentor", "#7c3aed"),
    ("employer", "Employer", "#059669"),
    ("employee", "Employee", "#d97706"),
]


def user_get_or_create(*, email: str, password: str | None = None, full_name: str = "") -> User:
    email = email.strip().lower()
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=password, full_name=full_name)
    elif password:
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


@transaction.atomic
def workspace_create(*, slug: str, name: str, admin_email: str, password: str | None = None):
    """A new workspace with its first admin and the default segments."""
    from quarterdeck.insights.models import Segment

    workspace = Workspace.objects.create(slug=slug, name=name)
    admin = user_get_or_create(email=admin_email, password=password)
    Membership.objects.create(workspace=workspace, user=admin, role=Role.ADMIN)
    Segment.objects.bulk_create(
        Segment(workspace=workspace, key=key, name=label, color=color)
        for key, label, color in DEFAULT_SEGMENTS
    )
    activity.record(workspace=workspace, actor=admin, verb="created", target=workspace)
    return workspace


@transaction.atomic
def membership_set(*, workspace: Workspace, user: User, role: str, by=None) -> Membership:
    if role not in Role.values:
        raise ValueError(f"Unknown role {role!r}; expected one of {', '.join(Role.values)}")
    membership, created = Membership.objects.update_or_create(
        workspace=workspace, user=user, defaults={"role": role}
    )
    activity.record(
        workspace=workspace,
        actor=by,
        verb="member_added" if created else "member_changed",
        target=membership,
        changes={"role": [None, role]},
    )
    return membership


@transaction.atomic
def token_create(
    *, workspace: Workspace, user: User, name: str = "", by=None
) -> tuple[ApiToken, str]:
    """A new API token; the secret is returned once and only its hash is kept."""
    if not Membership.objects.filter(workspace=workspace, user=user).exists():
        raise ValueError(f"{user.email} is not a member of the workspace {workspace.slug}")
    key = ApiToken.generate_key()
    token = ApiToken.objects.create(
        workspace=workspace,
        user=user,
        name=name,
        key_hash=ApiToken.hash_key(key),
        key_hint=key[:10],
    )
    activity.record(workspace=workspace, actor=by or user, verb="token_created", target=token)
    return token, key


@transaction.atomic
def token_revoke(*, token: ApiToken, by=None) -> ApiToken:
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at", "updated_at"])
    activity.record(workspace=token.workspace, actor=by, verb="token_revoked", target=token)
    return token
