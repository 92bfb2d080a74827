import sys

from reflector.entrypoints.cli import main

# Guarded: a spawned child process (`reflector process`'s speech stage) imports this module again.
if __name__ == "__main__":
    sys.exit(main())
