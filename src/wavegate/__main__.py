from wavegate.cli import main

raise SystemExit(main())
