"""Drafting commands live at the top level (`outcomedesk eval`)."""

import typer


def register(app: typer.Typer) -> None:
    """Attach the drafting commands to the main CLI."""
