"""``python -m vidlake``."""

from vidlake.cli import main

main()
