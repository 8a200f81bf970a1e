"""`python -m dataflow` is the `dataflow` command (cli/): the one import of this package that goes up a layer,
listed in pyproject.toml's import contract. This file is run, never imported, so `import dataflow` stays light."""

from cli import main

raise SystemExit(main())
