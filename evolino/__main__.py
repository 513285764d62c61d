"""``python -m evolino``."""

from evolino.cli import main

raise SystemExit(main())
