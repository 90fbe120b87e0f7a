"""A place and the word for its people or language name one thing: Germany/German, France/French.

Terms are compared as rag.text.content_terms gives them: lower-cased, plural -s folded
("netherlands" is "netherland"). Regular pairs differ by an ending (Germany/German,
China/Chinese, Iran/Iranian) and need a listed place on one side; the irregular ones are listed.
"""

from __future__ import annotations

import re

from rag.text import content_terms

# A place and its people or language differ by these endings: Germany/German, China/Chinese, Iran/Iranian.
_PLACE_ENDINGS = ("y", "a", "e", "o")
_PEOPLE_ENDINGS = ("ese", "ian", "an", "n", "i")

# Places whose people or language no ending rule reaches.
_IRREGULAR = {
    "afghanistan": ("afghan",),
    "argentina": ("argentine",),
    "belarus": ("belarusian",),
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
    "netherlands": ("dutch",),
    "norway": ("norwegian",),
    "peru": ("peruvian",),
    "philippines": ("filipino",),
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
    "wales": ("welsh",),
}
# Places the ending rules may pair with a people (so Harris and Harry, Christa and Christian,
# which the rules would pair too, stay apart): countries and regions of one word.
_PLACE_NAMES = """
afghanistan africa albania algeria america andorra angola antarctica arabia argentina armenia asia
australia austria azerbaijan bahamas bahrain bangladesh barbados belarus belgium belize benin
bhutan bolivia bosnia botswana brazil brunei bulgaria burma burundi cambodia cameroon canada
caribbean chad chechnya chile china colombia congo crimea croatia cuba cyprus czechia denmark
djibouti dominica ecuador egypt eritrea estonia ethiopia europe fiji finland france gabon gambia
gaza georgia germany ghana greece grenada guatemala guinea guyana haiti honduras hungary iceland
india indonesia iran iraq ireland israel italy jamaica japan jordan kazakhstan kenya korea kosovo
kurdistan kuwait kyrgyzstan laos latvia lebanon lesotho liberia libya liechtenstein lithuania
luxembourg macedonia madagascar malawi malaysia maldives mali malta mauritania mauritius mexico
moldova monaco mongolia montenegro morocco mozambique myanmar namibia nepal netherlands nicaragua
niger nigeria norway oman pakistan palestine panama paraguay peru philippines poland portugal
qatar romania russia rwanda samoa scandinavia senegal serbia siberia singapore slovakia slovenia
somalia spain sudan suriname sweden switzerland syria taiwan tajikistan tanzania thailand tibet
togo tonga tunisia turkey turkmenistan uganda ukraine uruguay uzbekistan venezuela vietnam yemen
zambia zimbabwe
""".split()
_PLACES = frozenset(content_terms(" ".join(_PLACE_NAMES)))

_PARTNERS: dict[str, set[str]] = {}
for _name, _peoples in _IRREGULAR.items():
    (_place,) = content_terms(_name)  # as compared: "cyprus" is "cypru"
    for (_word,) in map(content_terms, _peoples):
        _PARTNERS.setdefault(_place, set()).add(_word)
        _PARTNERS.setdefault(_word, set()).add(_place)

_CAPITALISED = re.compile(r"\b[A-Z][\w’'-]*\w")


def _cut(term: str, endings: tuple[str, ...]) -> set[str]:
    return {term} | {term[: -len(end)] for end in endings if term.endswith(end) and len(term) - len(end) >= 4}


_PLACE_STEMS = frozenset(stem for place in _PLACES for stem in _cut(place, _PLACE_ENDINGS))


def same_place(a: str, b: str) -> bool:
    """Two content terms name one place: the same word, or a place and its people or language."""
    if a == b or b in _PARTNERS.get(a, ()):
        return True
    return _place_and_people(a, b) or _place_and_people(b, a)


def is_place_or_people(word: str) -> bool:
    """A listed country or region, or the word for its people or language, as written ("Egypt's",
    "Afghan", "Chinese"): a place, not a person. The word is not stemmed, so Francis is no France."""
    word = re.sub(r"[’']s$", "", word.lower())
    terms = content_terms(word)
    if terms and (terms[0] in _PLACES or terms[0] in _PARTNERS):
        return True
    return bool(_cut(word, _PEOPLE_ENDINGS) & _PLACE_STEMS)


def _place_and_people(place: str, people: str) -> bool:
    return place in _PLACES and bool(_cut(place, _PLACE_ENDINGS) & _cut(people, _PEOPLE_ENDINGS))


def names_place(text: str, name: str) -> bool:
    """A capitalised word of text names the same place as name ("French" for "France")."""
    terms = content_terms(name)
    if len(terms) != 1:
        return False
    words = set(content_terms(" ".join(_CAPITALISED.findall(text))))
    return any(same_place(terms[0], w) for w in words)
