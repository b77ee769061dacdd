"""Outgoing webhooks: the JSON body, its signature, and one HTTP try.

Each request carries `X-Quarterdeck-Signature: sha256=<hex HMAC-SHA256 of the raw body>` keyed
with the webhook's secret; a receiver recomputes it over the bytes it got and compares in
constant time.
"""

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlparse

from django.conf import settings

from quarterdeck.notify.models import Event

TIMEOUT_S = 10
EXCERPT = 2000
ALLOWED_SCHEMES = ("http", "https")
USER_AGENT = "Quarterdeck-Webhooks/1"


def url_is_allowed(url: str) -> bool:
    parsed = urlparse(url or "")
    return parsed.scheme in ALLOWED_SCHEMES and bool(parsed.hostname)


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, signature: str) -> bool:
    return hmac.compare_digest(sign(body, secret), signature or "")


def payload(event: Event) -> dict:
    feature = event.feature
    return {
        "id": f"evt_{event.pk}",
        "type": event.webhook_type,
        "created_at": event.created_at.isoformat(),
        "workspace": {"slug": event.workspace.slug, "name": event.workspace.name},
        "feature": {
            "id": feature.pk,
            "title": feature.title,
            "status": event.new_status,
            "url": settings.SITE_URL + feature.get_absolute_url(),
        },
        "from": event.old_status,
        "to": event.new_status,
        "reason": event.reason,
        "actor": (
            {"name": str(event.actor), "email": event.actor.email} if event.actor_id else None
        ),
    }


def body_for(event: Event) -> str:
    return json.dumps(payload(event), separators=(",", ":"), ensure_ascii=False)


@dataclass
class Outcome:
    ok: bool
    status: int | None = None
    body: str = ""
    error: str = ""
    duration_ms: int = 0


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not something to follow with the signed body."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _excerpt(raw: bytes) -> str:
    return raw[:EXCERPT].decode("utf-8", errors="replace")


def post(
    *, url: str, body: str, secret: str, delivery_id: int, event_type: str, attempt: int
) -> Outcome:
    """POST `body` to `url` once. 2xx is success; anything else, or no answer, is a failure."""
    if not url_is_allowed(url):
        return Outcome(ok=False, error="Only http and https URLs can receive webhooks.")
    raw = body.encode()
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url,
        data=raw,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Quarterdeck-Signature": sign(raw, secret),
            "X-Quarterdeck-Event": event_type,
            "X-Quarterdeck-Delivery": str(delivery_id),
            "X-Quarterdeck-Attempt": str(attempt),
        },
    )
    started = time.monotonic()
    try:
        with _opener.open(request, timeout=TIMEOUT_S) as response:
            answer = response.read(EXCERPT + 1)
            status = response.status
    except urllib.error.HTTPError as exc:
        took = int((time.monotonic() - started) * 1000)
        answer = exc.read(EXCERPT + 1) if exc.fp else b""
        return Outcome(
            ok=False,
            status=exc.code,
            body=_excerpt(answer),
            error=f"HTTP {exc.code}",
            duration_ms=took,
        )
    except (urllib.error.URLError, OSError, ValueError) as exc:
        took = int((time.monotonic() - started) * 1000)
        reason = getattr(exc, "reason", exc)
        return Outcome(ok=False, error=f"{type(exc).__name__}: {reason}"[:500], duration_ms=took)
    took = int((time.monotonic() - started) * 1000)
    return Outcome(ok=200 <= status < 300, status=status, body=_excerpt(answer), duration_ms=took)
