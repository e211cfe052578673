"""`python -m benchmark.perf`: runs the command (`benchmark.perf.cli`)."""

import sys

from benchmark.perf import main

sys.exit(main())
