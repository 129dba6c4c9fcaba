"""What the commands share: the SWF client and payload store of the command line, the
modules it names, the workflow input it gives, and a starter for it."""

import importlib
import os
import sys

from ..client import SWFClient
from ..payload import S3PayloadStore
from ..starter import SWFWorkflowStarter
from .errors import CommandError, CommandLineError

__all__ = ['verbosity', 'swf_client', 'payload_store', 'import_modules', 'scan',
           'workflow_input', 'starter', 'check_input']


def verbosity(args):
    return getattr(args, 'verbose', 0) or 0


def swf_client(args, connect=True, **options):
    """An SWFClient for the command line's endpoint and region.

    ``connect``: make the boto3 client now, in this thread (boto3 does not make clients
    safely from several threads at once); otherwise on its first call.
    """
    kwargs = {}
    if getattr(args, 'endpoint_url', None):
        kwargs['endpoint_url'] = args.endpoint_url
    if getattr(args, 'region', None):
        kwargs['region_name'] = args.region
    client = SWFClient(kwargs=kwargs, **options)
    if connect:
        client.client  # noqa: B018 - a property that makes the boto3 client
    return client


def payload_store(args):
    """The S3 payload store of ``--payload-bucket``, or None."""
    bucket = getattr(args, 'payload_bucket', None)
    if not bucket:
        return None
    import boto3

    region = getattr(args, 'region', None)
    client = boto3.client('s3', region_name=region) if region else boto3.client('s3')
    try:
        return S3PayloadStore(bucket, client=client)
    except ValueError as exc:
        raise CommandLineError(str(exc)) from None


def import_modules(names):
    """Import the modules named on the command line (or .py paths); the cwd is importable."""
    cwd = os.getcwd()
    if cwd not in sys.path and '' not in sys.path:
        sys.path.insert(0, cwd)
    return [_import(_importable(name)) for name in names]


def _importable(name):
    """The module name of ``name``, a module name or a .py path (its folder importable)."""
    if not name.endswith('.py'):
        return name
    if not os.path.isfile(name):
        raise CommandLineError('no such file: %s' % name)
    directory, filename = os.path.split(os.path.abspath(name))
    if directory not in sys.path:
        sys.path.insert(0, directory)
    return filename[:-3]


def _import(name):
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ''
        if missing and (name == missing or name.startswith(missing + '.')):
            raise CommandLineError('cannot find the module %s: run flowy from the directory '
                                   'that holds it, or add that directory to PYTHONPATH'
                                   % name) from None
        raise CommandError('cannot import %s: %s' % (name, exc)) from exc
    except ImportError as exc:
        raise CommandError('cannot import %s: %s' % (name, exc)) from exc


def scan(worker, modules):
    for module in modules:
        worker.scan(module)
    return worker


def workflow_input(args):
    """``(positional, keyword)`` arguments of the workflow, as the command line gives them."""
    return list(args.args), dict(args.kwargs)


def starter(args, client, store, **options):
    try:
        return SWFWorkflowStarter(args.domain, args.name, args.version, swf_client=client,
                                  payload_store=store, **options)
    except (TypeError, ValueError) as exc:
        raise CommandLineError(str(exc)) from None


def check_input(starter, positional, keywords):
    """Refuse an input the starter cannot send, before anything is started."""
    try:
        starter.encode_input(*positional, **keywords)
    except (TypeError, ValueError) as exc:
        raise CommandLineError(str(exc)) from None
