"""Command line interface (``qlearn-sense``)."""

from qlearn_sense.cli._app import app, main

__all__ = ["app", "main"]
