import sys

from reflector.entrypoints.cli import main

sys.exit(main())
