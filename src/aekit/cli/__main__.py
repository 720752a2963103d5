"""``python -m aekit.cli``."""

import sys

from . import main

sys.exit(main())
