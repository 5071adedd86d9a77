import sys

from .warm import run_warm

# A pipeline stage runs in a child of the warm server when it can (warm.py), else here, cold.
code = run_warm(sys.argv[1:])
if code is None:
    from .cli import main

    code = main()
sys.exit(code)
