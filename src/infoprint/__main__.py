"""``python -m infoprint train|analyze [overrides]`` (see :mod:`infoprint.cli`)."""

from infoprint.cli import main

main()
