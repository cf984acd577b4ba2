"""`python -m perftop` runs the same entry point as the console script."""

from perftop.cli import main

raise SystemExit(main())
