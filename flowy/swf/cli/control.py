"""``flowy signal``, ``flowy cancel`` and ``flowy terminate``: reach a running execution.

Their arguments (added to the parser by :func:`add_commands`) and what they do, over
:class:`flowy.swf.control.SWFExecutions`.  Each prints one line saying what was sent;
an execution that is not open (closed, or never started) is an error with exit status 1.
"""

from ..control import SWFExecutions
from .context import payload_store, swf_client

__all__ = ['add_commands', 'COMMANDS']

_SIGNAL_EPILOG = """\
VALUE is read as JSON when it is valid JSON (10, true, null, "text", {"by": "ann"}) and
taken as a plain string otherwise; without it the signal carries null.  The workflow
receives it from flowy.wait_signal(NAME), signals of one name in the order they came.

examples:
  flowy signal my-domain order-17 approve '{"by": "ann"}'
  flowy signal my-domain order-17 approve --run-id 22Kq...="""

_CANCEL_EPILOG = """\
The decider of the execution cancels the activities, timers and child workflows it has
running and closes it as CANCELED; a child workflow cancelled so is a TaskCancelled to
its parent.  Use 'flowy terminate' to end an execution without asking its decider.

examples:
  flowy cancel my-domain order-17"""

_TERMINATE_EPILOG = """\
SWF closes the execution at once as TERMINATED (its decider is not asked; what it had
running is dropped, and its child workflows follow its child policy).

examples:
  flowy terminate my-domain order-17 --reason 'stuck on a bad input'"""


def add_commands(commands, formatter, common_options, json_value, wrap):
    """Add the three commands to ``commands`` (the parser's subparsers)."""
    signal = commands.add_parser(
        'signal', help='send a signal to a running execution', formatter_class=formatter,
        description=wrap('Send the signal NAME, carrying VALUE, to the open execution '
                         'WORKFLOW_ID in DOMAIN.'), epilog=_SIGNAL_EPILOG)
    _execution_arguments(signal)
    signal.add_argument('name', metavar='NAME', help='the name of the signal')
    signal.add_argument('value', metavar='VALUE', nargs='?', type=json_value, default=None,
                        help='the value it carries (JSON, or a string; default: null)')
    signal.add_argument('--payload-bucket', metavar='BUCKET',
                        help='an S3 bucket for values larger than SWF allows (the one the '
                             'deciders use)')
    common_options(signal)
    cancel = commands.add_parser(
        'cancel', help='ask a running execution to cancel', formatter_class=formatter,
        description=wrap('Ask the open execution WORKFLOW_ID in DOMAIN to cancel.'),
        epilog=_CANCEL_EPILOG)
    _execution_arguments(cancel)
    common_options(cancel)
    terminate = commands.add_parser(
        'terminate', help='end a running execution at once', formatter_class=formatter,
        description=wrap('Terminate the open execution WORKFLOW_ID in DOMAIN.'),
        epilog=_TERMINATE_EPILOG)
    _execution_arguments(terminate)
    terminate.add_argument('--reason', help='why (kept in the history; 256 characters)')
    common_options(terminate)


def _execution_arguments(parser):
    parser.add_argument('domain', metavar='DOMAIN', help='the SWF domain')
    parser.add_argument('workflow_id', metavar='WORKFLOW_ID', help='the workflow id')
    parser.add_argument('--run-id', help='a run of the workflow id (default: the open one)')


def _executions(args):
    return SWFExecutions(args.domain, swf_client(args), payload_store=payload_store(args))


def _target(args):
    if args.run_id:
        return '%s (run %s)' % (args.workflow_id, args.run_id)
    return args.workflow_id


def signal(args):
    _executions(args).signal(args.workflow_id, args.name, args.value, run_id=args.run_id)
    print('signal %s sent to %s' % (args.name, _target(args)))
    return 0


def cancel(args):
    _executions(args).cancel(args.workflow_id, run_id=args.run_id)
    print('cancellation requested for %s' % _target(args))
    return 0


def terminate(args):
    _executions(args).terminate(args.workflow_id, run_id=args.run_id, reason=args.reason)
    print('%s terminated' % _target(args))
    return 0


COMMANDS = {'signal': signal, 'cancel': cancel, 'terminate': terminate}
