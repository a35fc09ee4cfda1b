"""`knowledge.store: postgresql://user:password@host:port/db?schema=name`: the libpq URL, the
schema holding this knowledge base's tables, and the URL as manifests may show it."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

DEFAULT_SCHEMA = "tunesmith_knowledge"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def split_url(url: str) -> tuple[str, str, str]:
    """(libpq URL without `schema`, schema, the URL without its password): the last is what
    manifests and messages show."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = dict(query).get("schema", DEFAULT_SCHEMA)
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(
            f"'{schema}': knowledge.store schema must be lowercase letters, digits and '_'"
        )
    # libpq reads %20 as a space but not '+': quote, not quote_plus
    rest = urlencode([(k, v) for k, v in query if k != "schema"], quote_via=quote)
    kept = urlunsplit(parts._replace(query=rest))
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", "@", 1)
    public = urlencode([(k, v) for k, v in query if k != "password"], quote_via=quote)
    shown = urlunsplit(parts._replace(netloc=netloc, query=public))
    return kept, schema, shown
