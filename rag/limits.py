"""The engine's request limits, defined once: the service, the CLI and the harness import them."""

from __future__ import annotations

from rag.errors import InvalidRequestError

# Passages one Engine.search may return: the evaluation harness ranks to depth 100 and beyond.
MAX_K = 1000
# Passages one answer reads from, and one search over the service returns.
MAX_TOP_K = 50
# The longest recency half-life a request may set: a century; longer is no decay at all.
MAX_HALF_LIFE_DAYS = 36500


def require_text(text: str, what: str) -> None:
    """Refuse a blank query or question ("the question is empty: …")."""
    if not text.strip():
        raise InvalidRequestError(f"the {what} is empty: ask about something")
