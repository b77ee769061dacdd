"""Background work of the linking app (django-tasks); every task is idempotent."""

from django_tasks import task


@task()
def process_insights(*, workspace_id: int, insight_ids: list[int]) -> None:
    """Vectors, link suggestions and duplicate grouping for arrived insights."""
    from quarterdeck.linking.services import insights_process

    insights_process(workspace_id=workspace_id, insight_ids=insight_ids)


@task()
def learn_link(*, workspace_id: int, link_id: int) -> None:
    """The workspace's link model learns from a newly recorded link."""
    from quarterdeck.accounts.models import Workspace
    from quarterdeck.linking.services import linker_train

    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is not None:
        linker_train(workspace=workspace, link_id=link_id)


@task()
def compute_themes(*, workspace_id: int) -> None:
    """Cluster the workspace's new, unlinked insights into themes."""
    from quarterdeck.accounts.models import Workspace
    from quarterdeck.linking.services import themes_compute

    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is not None:
        themes_compute(workspace=workspace)
