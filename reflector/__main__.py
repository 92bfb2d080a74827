import sys

from reflector.cli import main

sys.exit(main())
