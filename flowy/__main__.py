"""``python -m flowy``: the ``flowy`` command (see :mod:`flowy.swf.cli`)."""

import sys

from .swf.cli import main

if __name__ == '__main__':
    sys.exit(main())
