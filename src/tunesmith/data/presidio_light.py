"""Import Presidio without the NLP engines it would pull in through transformers."""

import sys

# Presidio imports transformers (and with it most of torch) when it is installed, for NLP
# engines curation never uses; hidden during that import, curate starts ~5 s sooner and each
# PII worker holds a few hundred MB less. Code that needs transformers imports it normally.
if "presidio_analyzer" not in sys.modules and "transformers" not in sys.modules:
    sys.modules["transformers"] = None  # type: ignore[assignment]
    try:
        import presidio_analyzer  # noqa: F401
        import presidio_anonymizer  # noqa: F401
    finally:
        del sys.modules["transformers"]
