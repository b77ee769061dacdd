"""Scores: rank the demo backlog now, so the first page a newcomer opens shows them."""


def build(ctx) -> None:
    from quarterdeck.strategy.ranking import recompute_workspace

    recompute_workspace(ctx.workspace, reason="Demo data loaded")
