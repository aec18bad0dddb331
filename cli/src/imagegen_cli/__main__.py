"""`python -m imagegen_cli` runs the same command line as the `imagegen` script."""

from imagegen_cli.main import main

raise SystemExit(main())
