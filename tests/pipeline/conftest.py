# offline except loopback, as for the server's tests: the job talks to its own local server
from ..serve.conftest import no_network  # noqa: F401
