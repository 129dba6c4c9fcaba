"""``python -m flowy``: the ``flowy`` command (see :mod:`flowy.cli`)."""

import sys

from .cli import main

if __name__ == '__main__':
    sys.exit(main())
