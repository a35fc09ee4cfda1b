# offline except loopback: the LLM judge talks to a local tunesmith serve
from ..serve.conftest import no_network  # noqa: F401
