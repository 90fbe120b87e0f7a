"""The engine's request limits, defined once: the service, the CLI and the harness import them."""

from __future__ import annotations

# Passages one Engine.search may return: the evaluation harness ranks to depth 100 and beyond.
MAX_K = 1000
# Passages one answer reads from, and one search over the service returns.
MAX_TOP_K = 50
# The longest recency half-life a request may set: a century; longer is no decay at all.
MAX_HALF_LIFE_DAYS = 36500
