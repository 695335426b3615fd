"""`python -m coder` entry point."""

from coder.cli import main

raise SystemExit(main())
