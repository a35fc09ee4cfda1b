"""`tunesmith` commands of the evaluate stage."""

from __future__ import annotations
