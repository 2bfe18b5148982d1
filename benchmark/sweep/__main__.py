"""`python -m benchmark.sweep ...`: the sweep command stand-alone, and the worker processes it launches."""

import sys

from .cli import main

sys.exit(main())
