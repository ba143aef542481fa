"""``python -m vidlake``."""

from vidlake.cli.app import main

main()
