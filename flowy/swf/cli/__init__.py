"""The SWF commands of ``flowy`` (also ``python -m flowy``): start workflows, run workers.

``flowy local`` (local run stores) is :mod:`flowy.local.cli`; ``flowy.__main__`` dispatches.

``flowy --help`` lists the subcommands and ``flowy COMMAND --help`` explains each one
with examples.  :func:`main` returns the exit status: 0 on success, 1 when something
failed (SWF refused a call, a workflow failed, a wait timed out), 2 for a usage error
(bad arguments, a module that cannot be found), 130 after Ctrl-C.

Its parts: :mod:`~flowy.swf.cli.parser` (the arguments and help texts),
:mod:`~flowy.swf.cli.commands`, :mod:`~flowy.swf.cli.run`, :mod:`~flowy.swf.cli.control`,
:mod:`~flowy.swf.cli.trace` and :mod:`~flowy.swf.cli.ops` (list, history, tasks, profile,
restart) (what each command does,
over what :mod:`~flowy.swf.cli.context` gives them), :mod:`~flowy.swf.cli.output` (what
they print) and :mod:`~flowy.swf.cli.main` (the entry point and its exit statuses).
"""

from .main import main
from .parser import DEV_DOMAIN, PROG, build_parser, json_value

__all__ = ['main', 'build_parser', 'json_value', 'PROG', 'DEV_DOMAIN']
