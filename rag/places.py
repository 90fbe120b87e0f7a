"""A place and the word for its people or language name one thing: Germany/German, France/French.

Terms are compared as rag.text.content_terms gives them: lower-cased, plural -s folded
("netherlands" is "netherland"). Regular pairs differ by an ending (Germany/German,
China/Chinese, Iran/Iranian); the irregular ones are listed.
"""

from __future__ import annotations

import re

from rag.text import content_terms

# A place and its people or language differ by these endings: Germany/German, China/Chinese, Iran/Iranian.
_PLACE_ENDINGS = ("y", "a", "e", "o")
_PEOPLE_ENDINGS = ("ese", "ian", "an", "n", "i")

# Places whose people or language no ending rule reaches, as content terms.
_IRREGULAR = {
    "afghanistan": ("afghan",),
    "argentina": ("argentine",),
    "belgium": ("belgian",),
    "britain": ("british", "briton"),
    "congo": ("congolese",),
    "croatia": ("croat",),
    "cyprus": ("cypriot",),
    "czechia": ("czech",),
    "denmark": ("danish",),
    "england": ("english",),
    "finland": ("finnish",),
    "france": ("french",),
    "greece": ("greek",),
    "haiti": ("haitian",),
    "holland": ("dutch",),
    "iceland": ("icelandic",),
    "ireland": ("irish",),
    "kazakhstan": ("kazakh",),
    "kosovo": ("kosovar",),
    "kyrgyzstan": ("kyrgyz",),
    "lebanon": ("lebanese",),
    "luxembourg": ("luxembourgish",),
    "madagascar": ("malagasy",),
    "monaco": ("monegasque",),
    "montenegro": ("montenegrin",),
    "mozambique": ("mozambican",),
    "netherland": ("dutch",),
    "norway": ("norwegian",),
    "peru": ("peruvian",),
    "philippine": ("filipino",),
    "poland": ("polish", "pole"),
    "portugal": ("portuguese",),
    "scotland": ("scottish", "scot"),
    "serbia": ("serb",),
    "slovakia": ("slovak",),
    "slovenia": ("slovene",),
    "spain": ("spanish", "spaniard"),
    "sweden": ("swedish", "swede"),
    "switzerland": ("swiss",),
    "tajikistan": ("tajik",),
    "thailand": ("thai",),
    "turkey": ("turkish", "turk"),
    "turkmenistan": ("turkmen",),
    "uzbekistan": ("uzbek",),
    "wale": ("welsh",),
}
_PARTNERS: dict[str, set[str]] = {}
for _place, _people in _IRREGULAR.items():
    for _word in _people:
        _PARTNERS.setdefault(_place, set()).add(_word)
        _PARTNERS.setdefault(_word, set()).add(_place)

_CAPITALISED = re.compile(r"\b[A-Z][\w’'-]*\w")


def _cut(term: str, endings: tuple[str, ...]) -> set[str]:
    return {term} | {term[: -len(end)] for end in endings if term.endswith(end) and len(term) - len(end) >= 4}


def same_place(a: str, b: str) -> bool:
    """Two content terms name one place: the same word, or a place and its people or language."""
    if a == b or b in _PARTNERS.get(a, ()):
        return True
    a_place, a_people = _cut(a, _PLACE_ENDINGS), _cut(a, _PEOPLE_ENDINGS)
    return bool(a_place & _cut(b, _PEOPLE_ENDINGS) or a_people & _cut(b, _PLACE_ENDINGS))


def names_place(text: str, name: str) -> bool:
    """A capitalised word of text names the same place as name ("French" for "France")."""
    terms = content_terms(name)
    if len(terms) != 1:
        return False
    words = set(content_terms(" ".join(_CAPITALISED.findall(text))))
    return any(same_place(terms[0], w) for w in words)
