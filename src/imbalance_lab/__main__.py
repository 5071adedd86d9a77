import sys

from imbalance_lab.warm.runner import main

# A pipeline stage runs in a child of the warm server when it can (warm.py), else here, cold.
sys.exit(main())
