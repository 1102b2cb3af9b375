"""``python -m qlearn_sense`` runs the CLI."""

from qlearn_sense.cli import main

main()
