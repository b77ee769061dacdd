"""`/api/v1/search`: insights, needs and features nearest in meaning to a query."""

from ninja import Field, Router, Schema

from quarterdeck.api.base import Problem, writer_auth
from quarterdeck.linking import selectors

router = Router(tags=["search"], auth=writer_auth)


class SearchHit(Schema):
    id: int
    type: str = Field(description="insight, need or feature.")
    title: str = Field(description="A need's or feature's title; an insight's first line.")
    similarity: float = Field(description="Cosine similarity of meaning with the query (0–1).")
    text_match: bool = Field(description="The text contains the query's words as typed.")
    score: float = Field(description="Ranking score: similarity, plus 0.3 for a text match.")


class SearchOut(Schema):
    q: str
    results: dict[str, list[SearchHit]]


@router.get("", response=SearchOut, summary="Search insights, needs and features by meaning")
def search(request, q: str = "", types: str = "insights,needs,features", limit: int = 10):
    q = q.strip()
    if not q:
        raise Problem(
            400, "Invalid input", "Pass a query in q.", errors={"q": ["This field is required."]}
        )
    kinds = [t.strip() for t in types.split(",") if t.strip()]
    unknown = sorted(set(kinds) - set(selectors.SEARCH_KINDS))
    if unknown or not kinds:
        raise Problem(
            400,
            "Invalid input",
            "types lists insights, needs and/or features.",
            errors={"types": [f"Unknown type: {', '.join(unknown) or '(none)'}."]},
        )
    if not 1 <= limit <= 100:
        raise Problem(
            400, "Invalid input", "limit is 1–100.", errors={"limit": ["Between 1 and 100."]}
        )
    found = selectors.search(request.workspace, q[:500], kinds=kinds, limit=limit)
    singular = {"insights": "insight", "needs": "need", "features": "feature"}
    return {
        "q": q,
        "results": {
            kind: [
                {
                    "id": h.obj.pk,
                    "type": singular[kind],
                    "title": h.obj.summary if kind == "insights" else h.obj.title,
                    "similarity": round(h.similarity, 4),
                    "text_match": h.text_match,
                    "score": round(h.score, 4),
                }
                for h in hits
            ]
            for kind, hits in found.items()
        },
    }
