"""Seedance Gateway: a self-hostable API platform for Seedance video generation."""

from __future__ import annotations

__version__ = "0.1.0"
