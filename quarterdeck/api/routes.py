"""Mounts every domain's router on the one API instance."""

from quarterdeck.api import drivers, features, insights, needs, objectives, squads, stakeholders
from quarterdeck.api.base import api

api.add_router("/insights", insights.router)
api.add_router("/stakeholders", stakeholders.router)
api.add_router("/needs", needs.router)
api.add_router("/features", features.router)
api.add_router("/drivers", drivers.router)
api.add_router("/objectives", objectives.router)
api.add_router("/key-results", objectives.key_results_router)
api.add_router("/squads", squads.router)

__all__ = ["api"]

from quarterdeck.api import notify  # noqa: E402

api.add_router("", notify.router)  # /features/{id}/followers, /webhooks

from quarterdeck.api import delivery  # noqa: E402

api.add_router("/features", delivery.router)  # /features/{id}/evaluations, /qa-checks, /rollout…

from quarterdeck.api import scoring  # noqa: E402

api.add_router("", scoring.router)  # /features/{id}/score, /scoring

from quarterdeck.api import rituals  # noqa: E402

api.add_router("/meetings", rituals.meetings_router)
api.add_router("/newsletters", rituals.newsletters_router)

from quarterdeck.api import linking, search  # noqa: E402

api.add_router("/search", search.router)  # GET /search?q=&types=&limit=
api.add_router("", linking.router)  # /insights/{id}/suggestions, /suggestions/{id}/accept
