"""Routes that are not a dialect: health checks and signed blob downloads."""

from __future__ import annotations
