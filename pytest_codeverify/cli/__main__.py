"""``python -m pytest_codeverify.cli``: the ``codeverify`` command."""

import sys

from . import main

sys.exit(main())
