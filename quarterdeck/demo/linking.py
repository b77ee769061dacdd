"""Insight intelligence: the link model learnt from the demo's links, and themes of the new,
unlinked feedback, so the inbox suggestions and the Themes page have something to show."""

from quarterdeck.linking.services import linker_train, themes_compute


def build(ctx):
    linker_train(workspace=ctx.workspace)
    themes_compute(workspace=ctx.workspace)
