"""Mounts every domain's router on the one API instance."""

from quarterdeck.api.base import api

# Domain routers are added here, e.g. api.add_router("/insights", insights.router).

__all__ = ["api"]
