"""Link suggestions over the API: an insight's suggested needs, and accepting one."""

from ninja import Field, Router, Schema

from quarterdeck.api.base import get_or_404, writer_auth
from quarterdeck.insights.models import Importance, Insight
from quarterdeck.linking import services
from quarterdeck.linking.models import LinkSuggestion

router = Router(tags=["linking"], auth=writer_auth)


class SuggestionOut(Schema):
    id: int
    need: int
    need_title: str
    rank: int
    confidence: float
    no_match: bool = Field(description="No existing need fits this insight well.")
    method: str = Field(description="model (learnt from links) or similarity.")


class AcceptIn(Schema):
    highlight: str = ""
    importance: Importance = Importance.IMPORTANT


class AcceptOut(Schema):
    need: int
    insight: int
    from_suggestion: bool


def _out(s: LinkSuggestion) -> dict:
    return {
        "id": s.pk,
        "need": s.need_id,
        "need_title": s.need.title,
        "rank": s.rank,
        "confidence": round(s.confidence, 4),
        "no_match": s.no_match,
        "method": s.method,
    }


@router.get(
    "/insights/{insight_id}/suggestions",
    response=list[SuggestionOut],
    summary="Suggested needs of an insight",
)
def suggestions(request, insight_id: int):
    insight = get_or_404(Insight.objects.filter(workspace=request.workspace), insight_id, "insight")
    return [_out(s) for s in services.suggestions_for(insight=insight)]


@router.post(
    "/suggestions/{suggestion_id}/accept",
    response={201: AcceptOut},
    summary="Link the insight to the suggested need",
)
def accept(request, suggestion_id: int, payload: AcceptIn):
    suggestion = get_or_404(
        LinkSuggestion.objects.filter(workspace=request.workspace).select_related(
            "insight", "need"
        ),
        suggestion_id,
        "suggestion",
    )
    link = services.suggestion_accept(
        suggestion=suggestion,
        by=request.user,
        highlight=payload.highlight,
        importance=payload.importance,
    )
    return 201, {
        "need": link.need_id,
        "insight": link.insight_id,
        "from_suggestion": link.from_suggestion,
    }
