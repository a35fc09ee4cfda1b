"""The names lexicon behind the PERSON recogniser, and the words that must not count as names.

First and last names come from Faker's per-locale person providers (86 locales, Latin script
only): about 21k first names and 23k surnames in a third of a second and a few MB, where the
`names-dataset` lexicon costs 12 s and ~1.9 GB and lists words like "Regards" as names.
Names that are also everyday English words ("Will", "May", "Hope") only count with support
from context; the common-word list is Faker's English lorem vocabulary, spaCy's stop words
and the vocabulary of support tickets.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from spacy.lang.en.stop_words import STOP_WORDS

_DOMAIN_WORDS = """
account accounts address admin agent api app application balance bank billing browser bug build
card cart checkout chrome customer dashboard data delivery desktop device email error
enterprise export free invoice item kind laptop login mac manager mobile monday tuesday
wednesday thursday friday saturday sunday january february march april may june july august
september october november december order orders password payment plan premium priority pro
product refund regards reply report returns sales service settings shipping sincerely sku
subscription support team technical thanks thank ticket tracking update urgent user version
warehouse windows hello hi dear hey cheers best kind warm greetings morning afternoon evening
please urgent still again today yesterday tomorrow week month year mr mrs ms dr sir madam
german french spanish english italian dutch european american british camera phone tablet visa
mastercard amex paypal iban ssn ip dob bill will mark hope joy grace faith summer rose lane
street road avenue city park north south east west new saint st safari firefox chrome edge
okta azure google microsoft apple amazon atlas search exports patience royal mail dhl ups
fedex postnl usps date time birth jan feb mar apr jun jul aug sep sept oct nov dec
""".split()


def _latin(name: str) -> bool:
    return (
        bool(name)
        and all(ch.isalpha() or ch in "-' " for ch in name)
        and all(ord(ch) < 0x250 for ch in name)
    )


def _names_of(value: object) -> set[str]:
    if isinstance(value, dict):
        return {str(key) for key in value}
    if isinstance(value, list | tuple | set | frozenset):
        return {str(item) for item in value}
    return set()


@lru_cache(maxsize=1)
def name_lexicon() -> tuple[frozenset[str], frozenset[str]]:
    """(first names, surnames) across Faker's locales, in Latin script, as written."""
    import faker.providers.person as person

    first: set[str] = set()
    last: set[str] = set()
    for module_info in pkgutil.iter_modules(person.__path__):
        try:
            module = importlib.import_module(f"{person.__name__}.{module_info.name}")
        except ImportError:
            continue
        provider = module.Provider
        for attr in dir(provider):
            if attr.startswith(("first_names", "first_romanized_names")):
                first |= _names_of(getattr(provider, attr))
            elif attr.startswith(("last_names", "last_romanized_names")):
                last |= _names_of(getattr(provider, attr))
    return (
        frozenset(n for n in first if _latin(n) and len(n) > 1),
        frozenset(n for n in last if _latin(n) and len(n) > 1),
    )


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """Lower-cased everyday words that are not names without further evidence."""
    from faker.providers.lorem.en_US import Provider as Lorem

    return frozenset({w.lower() for w in Lorem.word_list} | set(STOP_WORDS) | set(_DOMAIN_WORDS))
