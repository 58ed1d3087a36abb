"""``python -m seedance_gateway`` runs the CLI."""

from __future__ import annotations

from seedance_gateway.cli import main

main()
