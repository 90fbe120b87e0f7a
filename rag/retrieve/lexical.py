"""The lexical index's query: the phrases that match a query's terms (rag.language.terms).

The store's lexical index (index/lexical.py) analyses text and these phrases with one analyzer,
which splits "U.S." into the adjacent tokens `u s`, "$1.44" into `1 44` and "F-16s" into `f 16s`.
The query is cut into whole terms first ("U.S.", "1.44", "F-16s", "Rzeszów"), so an initialism or
a number becomes a phrase query, an adjacency match ("1.44" finds "1.44", not any 1 and any 44);
hyphenated compounds become their parts plus the joined spelling ("f", "16s", "f16s"), which
measured better than a phrase on SciFact train (nDCG@10 0.706 against 0.698).
"""

from __future__ import annotations

from rag.language.terms import query_terms, term_variants


def lexical_phrases(text: str) -> tuple[str, ...]:
    """The phrases of text's content terms, any of which a lexical match may contain, each once."""
    return tuple(dict.fromkeys(variant for term in query_terms(text) for variant in term_variants(term)))
