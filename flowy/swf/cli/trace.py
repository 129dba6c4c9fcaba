"""``flowy trace``: draw an SWF execution from its stored history.

Its arguments (added to the parser by :func:`add_command`) and what it does, over
:func:`flowy.swf.trace.trace_execution` and :func:`flowy.trace_files.write_trace`: it
writes ``PATH.dot`` and, when Graphviz is installed, ``PATH.svg``, and prints the paths
written.  What could not be drawn is a warning on stderr (exit status 0 as long as the
DOT file was written).
"""

import sys
import warnings

from ...trace_files import TraceWarning, write_trace
from ...trace_render import to_dot
from ..trace import trace_execution
from .context import payload_store, swf_client

__all__ = ['add_command', 'COMMANDS']

_TRACE_EPILOG = """\
The picture is the one 'flowy local show --trace' draws for a local run: the run's
input on its start node, each activity, child workflow, timer, recorded value and
signal received as a node with its result or error (full values, errors and timings in
the SVG's tooltips), many calls of one task grouped into one node, and a legend.  Runs
it continued as (continue-as-new) and its child workflows' runs are drawn too.
Without --run-id, the drawing starts at the first run of the chain of continue-as-new
runs that ends with the latest run of WORKFLOW_ID.

examples:
  flowy trace my-domain order-17 traces/order-17
      writes traces/order-17.dot and traces/order-17.svg
  flowy trace my-domain order-17 --run-id 22Kq...= --no-children traces/one-run"""


def add_command(commands, formatter, common_options, wrap):
    """Add ``trace`` to ``commands`` (the parser's subparsers)."""
    trace = commands.add_parser(
        'trace', help='draw an execution from its history (DOT and SVG)',
        formatter_class=formatter,
        description=wrap('Draw the workflow execution WORKFLOW_ID in DOMAIN from its history '
                         'as Graphviz DOT (PATH.dot) and, with Graphviz installed, SVG '
                         '(PATH.svg).'), epilog=_TRACE_EPILOG)
    trace.add_argument('domain', metavar='DOMAIN', help='the SWF domain')
    trace.add_argument('workflow_id', metavar='WORKFLOW_ID', help='the workflow id')
    trace.add_argument('path', metavar='PATH',
                       help='where to write: PATH.dot and PATH.svg')
    trace.add_argument('--run-id', help='the run to start from (default: the first run of '
                                        'the latest chain)')
    trace.add_argument('--no-children', dest='children', action='store_false',
                       help='draw child workflows as calls only, without their runs')
    trace.add_argument('--no-restarts', dest='restarts', action='store_false',
                       help='draw this one run, not the runs it continued as')
    trace.add_argument('--payload-bucket', metavar='BUCKET',
                       help='the S3 bucket of values larger than SWF allows (the one the '
                            'workers use)')
    common_options(trace)


def trace(args):
    runs = trace_execution(swf_client(args), args.domain, args.workflow_id,
                           run_id=args.run_id, children=args.children,
                           restarts=args.restarts, payload_store=payload_store(args))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always', TraceWarning)
        written = write_trace(lambda: to_dot(runs), args.path)
    for warning in caught:
        print('flowy trace: warning: %s' % warning.message, file=sys.stderr)
    if not written:
        print('flowy trace: error: the trace could not be written to %s.dot' % args.path,
              file=sys.stderr)
        return 1
    for path in written:
        print('trace written to %s' % path)
    return 0


COMMANDS = {'trace': trace}
