"""``python -m chainrule``: the ``chainrule`` command line."""

import sys

from .cli import main

sys.exit(main())
