"""``python -m barua`` runs the command line."""

from barua.cli import main

main()
