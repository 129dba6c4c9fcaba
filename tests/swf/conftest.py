"""Tests of the SWF engine: its pure layer, and its calls against moto.

This directory is put on ``sys.path`` so that the helper modules ``swf_events.py`` and
``moto_ext.py`` import by name under every import mode, as ``tests/semantics`` does for its
helpers.  The moto fixtures: ``swf_client``, ``s3_client`` (in-process, through ``aws``),
``swf_clock``, ``swf_endpoint`` and ``swf_server`` (a loopback moto server).
"""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)


# --- SWF and S3 under moto (tests/swf/moto_ext.py fills moto's SWF gaps) ----------------------
# Imports of moto and boto3 stay inside the fixtures: the pure tests here do not need them.

DUMMY_CREDENTIALS = {
    'AWS_ACCESS_KEY_ID': 'testing', 'AWS_SECRET_ACCESS_KEY': 'testing',
    'AWS_SESSION_TOKEN': 'testing', 'AWS_DEFAULT_REGION': 'us-east-1',
}
NO_RETRIES = {'retries': {'total_max_attempts': 1}}  # a moto 500 shows at once, not after 10 s


@pytest.fixture
def aws_credentials(monkeypatch):
    """Dummy AWS credentials and region in the environment (inherited by subprocesses)."""
    monkeypatch.delenv('AWS_PROFILE', raising=False)
    for key, value in DUMMY_CREDENTIALS.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def aws(aws_credentials):
    """In-process moto (``mock_aws``) with the SWF extension installed; fresh state per test."""
    import moto_ext
    from moto import mock_aws

    moto_ext.install()
    try:
        with mock_aws():
            yield
    finally:
        moto_ext.set_page_size(None)
        moto_ext.set_poll_wait()


@pytest.fixture
def swf_client(aws):
    """A boto3 SWF client (us-east-1, no retries) on in-process moto plus moto_ext."""
    import boto3
    from botocore.config import Config

    return boto3.client('swf', region_name='us-east-1', config=Config(**NO_RETRIES))


@pytest.fixture
def s3_client(aws):
    """A boto3 S3 client (us-east-1) on the same in-process moto as ``swf_client``."""
    import boto3

    return boto3.client('s3', region_name='us-east-1')


@pytest.fixture
def swf_clock(monkeypatch):
    """``swf_clock(31)`` moves moto's clock 31 s forward: timeouts fire at the next SWF call.

    moto reads the time through ``moto.core.utils.utcnow``; its timers (StartTimer) are real
    threads and ignore this clock.
    """
    import datetime

    import moto.core.utils as moto_utils

    real_utcnow = moto_utils.utcnow
    offset = [datetime.timedelta()]
    monkeypatch.setattr(moto_utils, 'utcnow', lambda: real_utcnow() + offset[0])

    def advance(seconds):
        offset[0] += datetime.timedelta(seconds=seconds)

    return advance


@pytest.fixture(scope='session')
def swf_endpoint():
    """URL of a moto server (with moto_ext) in a thread of this process, on 127.0.0.1 only."""
    import moto_ext
    from moto.server import ThreadedMotoServer

    moto_ext.install()
    server = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f'http://{host}:{port}'
    finally:
        server.stop()


@pytest.fixture
def swf_server(swf_endpoint, aws_credentials):
    """``swf_endpoint`` after a reset of all moto state; dummy credentials in the environment."""
    import urllib.request

    import moto_ext

    moto_ext.install()  # again, in case a test uninstalled it
    request = urllib.request.Request(f'{swf_endpoint}/moto-api/reset', method='POST')
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    try:
        yield swf_endpoint
    finally:
        moto_ext.set_page_size(None)
        moto_ext.set_poll_wait()
