"""The pure core: tasks, requests, pricing and ledger rules. No I/O in here."""

from __future__ import annotations
