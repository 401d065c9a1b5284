"""`python -m edgekit` (and `torchrun ... -m edgekit distill ...`)."""

from edgekit.cli import main

raise SystemExit(main())
