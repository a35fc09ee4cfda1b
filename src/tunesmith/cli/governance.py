"""`tunesmith` commands of the governance stage."""

from __future__ import annotations
