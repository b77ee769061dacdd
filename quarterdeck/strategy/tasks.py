"""Background work of the strategy app (idempotent: re-scoring twice gives the same scores)."""

from django_tasks import task


@task()
def rescore_workspace(*, workspace_id: int, reason: str = "") -> int:
    """Re-score every feature of a large workspace; returns how many scores changed."""
    from quarterdeck.accounts.models import Workspace
    from quarterdeck.strategy.ranking import recompute_workspace

    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return 0
    return recompute_workspace(workspace, reason=reason).changed
