"""`tunesmith` commands of the registry stage."""

from __future__ import annotations
