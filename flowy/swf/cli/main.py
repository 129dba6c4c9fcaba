"""``flowy``'s entry point: parse the command line, run the command, report errors."""

import logging
import sys
import traceback

from ...errors import FlowyError, TaskError, exception_text
from .commands import COMMANDS
from .context import verbosity
from .errors import CommandLineError
from .parser import PROG, build_parser

__all__ = ['main']

# what boto3 raises without a region or credentials, and what fixes it
_HINTS = {
    'NoRegionError': ' Give --region, or set AWS_DEFAULT_REGION.',
    'NoCredentialsError': ' Configure AWS credentials (AWS_ACCESS_KEY_ID and '
                          'AWS_SECRET_ACCESS_KEY, or ~/.aws/credentials).',
}


def main(argv=None):
    """Run the ``flowy`` command with ``argv`` (default: ``sys.argv[1:]``); return its exit
    status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (already printed)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if not getattr(args, 'command', None):
        parser.print_help(sys.stderr)
        return 2
    restore = _setup_logging(args)
    try:
        return _run_command(args)
    finally:
        restore()


def _run_command(args):
    prefix = '%s %s: error:' % (PROG, args.command)
    try:
        return COMMANDS[args.command](args)
    except CommandLineError as exc:
        print('%s %s' % (prefix, exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print('%s interrupted' % prefix, file=sys.stderr)
        return 130
    except Exception as exc:
        if not _expected(exc):
            raise
        verbose = verbosity(args)
        remote = exc.traceback if isinstance(exc, TaskError) else None
        if verbose and (not remote or verbose >= 2):
            traceback.print_exc()
        print('%s %s' % (prefix, _message(exc)), file=sys.stderr)
        if verbose and remote:  # the traceback of the activity that failed the run
            print(_indent(remote), file=sys.stderr)
        return 1


def _expected(exc):
    """Errors a user can cause and fix: shown as one line, without a traceback."""
    if isinstance(exc, (FlowyError, TimeoutError, ValueError)):
        return True
    return any(cls.__module__.startswith(('botocore', 'boto3')) for cls in type(exc).__mro__)


def _indent(text):
    return '\n'.join('    ' + line for line in text.rstrip('\n').splitlines())


def _message(exc):
    return exception_text(exc) + _HINTS.get(type(exc).__name__, '')


def _setup_logging(args):
    """Log flowy (and with -vvv botocore) to stderr; return what undoes it."""
    verbose = verbosity(args)
    worker = args.command in ('decider', 'activities')
    if verbose >= 1:
        level = logging.DEBUG if worker or verbose >= 2 else logging.INFO
    else:
        level = logging.INFO if worker else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter('%(asctime)s %(levelname)s %(name)s: %(message)s'))
    logger = logging.getLogger('flowy')
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    if verbose >= 3:
        logging.getLogger('botocore').addHandler(handler)
        logging.getLogger('botocore').setLevel(logging.DEBUG)

    def restore():
        logger.removeHandler(handler)
        logger.setLevel(previous)
        logging.getLogger('botocore').removeHandler(handler)

    return restore
