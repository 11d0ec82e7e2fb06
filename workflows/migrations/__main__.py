import sys

from workflows.migrations import main

sys.exit(main())
