from dataflow.cli import main

raise SystemExit(main())
