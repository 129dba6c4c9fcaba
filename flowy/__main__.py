"""The ``flowy`` command (``python -m flowy`` is the same).

``flowy local ...`` looks at local run stores (:mod:`flowy.local.cli`); every other
command works with Amazon SWF (:mod:`flowy.swf.cli`).
"""

import sys

__all__ = ['main']


def main(argv=None):
    """Run the ``flowy`` command with ``argv`` (default: ``sys.argv[1:]``); return its exit
    status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == 'local':
        from .local.cli import main as local_main
        return local_main(argv[1:])
    from .swf.cli import main as swf_main
    return swf_main(argv)


if __name__ == '__main__':
    sys.exit(main())
