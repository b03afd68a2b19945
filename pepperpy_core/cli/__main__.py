"""``python -m pepperpy_core.cli``: the same as the ``pepperpy-core`` script."""

import sys

from pepperpy_core.cli import main

sys.exit(main())
