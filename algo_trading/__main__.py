"""``python -m algo_trading``: see algo_trading.cli."""

import sys

from .cli import main

sys.exit(main())
