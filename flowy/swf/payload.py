"""Values too large for an SWF field travel through a payload store (S3) by reference.

SWF's data fields (inputs, results, details, control) hold at most :data:`MAX_DATA`
(32,768) characters.  A larger value is put in a :class:`PayloadStore` and the field
carries a *reference* to it instead:

    ``flowy-payload:<locator>``

:data:`REFERENCE_PREFIX` followed by a locator that names the stored object (no
whitespace): ``flowy-payload:s3://<bucket>/<key>`` for :class:`S3PayloadStore`,
``flowy-payload:memory:<sha256>`` for :class:`InMemoryPayloadStore`.  flowy's default
transport (tagged JSON) writes JSON, which starts with ``[``, ``{``, ``"``, a digit,
``-``, ``t``, ``f``, ``n``, ``N`` or ``I``, never with ``flowy-payload:``: a reference
cannot be mistaken for a value.  A custom transport that does produce a text starting
with the prefix still round-trips: with a store, :func:`encode_field` stores it (so the
field holds a reference); without one, it refuses it.

Stored objects are named after the SHA-256 of their text, so putting the same value
twice stores it once (a decider that replays and sends a call again uploads nothing
new), and a reader checks that what it got is what was stored.  Nothing deletes them:
give the bucket (or the prefix) a lifecycle rule that outlives your longest workflow.

The engine calls :func:`encode_field` on every field it sends (the starter's input, the
activity worker's result, :func:`flowy.swf.packer.to_swf` for call inputs, workflow
results and restart inputs) and :func:`decode_field` on every field it reads (the
activity worker's input; :class:`flowy.swf.history.ExecutionHistory` for the workflow
input and call results).  Every process of a domain must use the same store.

Errors are :class:`PayloadError` (a :class:`flowy.FlowyError` and a ValueError);
:class:`PayloadTooLarge` when a value does not fit and there is no store,
:class:`PayloadMissing` when a reference can never be resolved (the object is gone or
does not match its reference).  Any other failure of a store (network, permissions,
throttling, no store configured where a reference arrives) is a plain
:class:`PayloadError` that may succeed when tried again.
"""

import hashlib
import re
import threading
from collections import OrderedDict

from ..errors import FlowyError
from .client import error_code

__all__ = ['MAX_DATA', 'MAX_REASON', 'REFERENCE_PREFIX', 'PayloadError', 'PayloadTooLarge',
           'PayloadMissing', 'PayloadStore', 'InMemoryPayloadStore', 'S3PayloadStore',
           'is_reference', 'encode_field', 'decode_field', 'cut_reason']

MAX_DATA = 32768  # SWF's inputs, results, details and control
MAX_REASON = 256  # SWF's failure reasons
REFERENCE_PREFIX = 'flowy-payload:'
_DIGEST = re.compile(r'[0-9a-f]{64}\Z')
_S3_REFERENCE = re.compile(r'flowy-payload:s3://([^/\s]+)/(\S+)\Z')
_MEMORY_REFERENCE = re.compile(r'flowy-payload:memory:([0-9a-f]{64})\Z')
_HINT = ('configure a payload store (flowy.swf.payload.S3PayloadStore) to send larger values '
         'through S3, or pass smaller values')


class PayloadError(FlowyError, ValueError):
    """A value could not be stored, or a reference could not be resolved."""


class PayloadTooLarge(PayloadError):
    """A value is larger than its SWF field allows and there is no store to send it by."""

    def __init__(self, field, size, limit=MAX_DATA):
        super().__init__('%s is %d characters; SWF allows %d: %s' % (field, size, limit, _HINT))
        self.field = field
        self.size = size
        self.limit = limit

    def __reduce__(self):
        return type(self), (self.field, self.size, self.limit)


class PayloadMissing(PayloadError):
    """A reference that can never be resolved: no such object, or not what was stored."""


def is_reference(text):
    """Whether the field ``text`` is a payload reference rather than a value."""
    return type(text) is str and text.startswith(REFERENCE_PREFIX)


def cut_reason(reason, limit=MAX_REASON):
    """``reason`` as a string of at most ``limit`` characters (SWF's failure reasons).

    The text is cut, not summarized: :func:`flowy.swf.failures.failure_fields` sends
    the whole reason in the details beside it.
    """
    return str(reason)[:limit]


def _digest(text):
    return hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()


def _check_text(text, what):
    if type(text) is not str:
        raise TypeError('%s must be a str; got %s' % (what, type(text).__name__))
    return text


class PayloadStore:
    """Where values too large for an SWF field are kept; subclass it for your storage.

    ``put(text)`` stores ``text`` and returns its reference: a string that starts with
    :data:`REFERENCE_PREFIX`, holds no whitespace and is much shorter than
    :data:`MAX_DATA`.  ``get(reference)`` returns the text; it raises
    :class:`PayloadMissing` if the object is gone (or is not what was stored) and any
    other error if it could not look (which the engine treats as worth trying again).
    Both may be called from several threads at once.

    ``threshold``: values longer than this many characters are stored even when they
    would fit in their field (at most :data:`MAX_DATA`; lower it to keep histories, and
    decision requests, small).
    """

    def __init__(self, threshold=MAX_DATA):
        if type(threshold) is not int or not 0 <= threshold <= MAX_DATA:
            raise ValueError('threshold must be a whole number of characters from 0 to %d; '
                             'got %r' % (MAX_DATA, threshold))
        self.threshold = threshold

    def put(self, text):  # pragma: no cover - abstract
        raise NotImplementedError

    def get(self, reference):  # pragma: no cover - abstract
        raise NotImplementedError


class InMemoryPayloadStore(PayloadStore):
    """A store in this process's memory: for tests, and for runs that stay in one process.

    References are ``flowy-payload:memory:<sha256 of the text>``; ``objects`` maps each
    digest to its text.  Another process cannot read them.
    """

    def __init__(self, threshold=MAX_DATA):
        super().__init__(threshold)
        self.objects = {}
        self._lock = threading.Lock()

    def __repr__(self):
        return '<InMemoryPayloadStore objects=%d threshold=%d>' % (len(self.objects),
                                                                   self.threshold)

    def put(self, text):
        text = _check_text(text, 'a stored value')
        digest = _digest(text)
        with self._lock:
            self.objects.setdefault(digest, text)
        return '%smemory:%s' % (REFERENCE_PREFIX, digest)

    def get(self, reference):
        match = _MEMORY_REFERENCE.match(reference)
        if match is None:
            raise PayloadError('%s is not a reference of an in-memory payload store; the '
                               'sender used another store: configure the same one here'
                               % reference)
        with self._lock:
            text = self.objects.get(match.group(1))
        if text is None:
            raise PayloadMissing('the payload %s is not in this in-memory store (it only '
                                 'holds what this process stored)' % reference)
        return text


class _Recent:
    """A small thread-safe LRU set of names (what this process stored or read)."""

    def __init__(self, size):
        self._size = size
        self._names = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, name):
        with self._lock:
            if name in self._names:
                self._names.move_to_end(name)
                return True
        return False

    def add(self, name):
        with self._lock:
            self._names[name] = True
            self._names.move_to_end(name)
            while len(self._names) > self._size:
                self._names.popitem(last=False)


class S3PayloadStore(PayloadStore):
    """A store in an S3 bucket: ``<prefix><sha256 of the text>``, UTF-8 text objects.

    References are ``flowy-payload:s3://<bucket>/<key>``.  ``client`` is a boto3 S3
    client (by default ``boto3.client('s3')``, configured by the environment as usual).
    A reference is read from the bucket it names, so a reader configured with another
    prefix, or bucket, still finds what a writer stored, given the permissions.

    ``put`` is idempotent and skips the upload of a value this store already put or read
    lately (the key is its content hash).  ``get`` keeps the last few values it read
    (``cache_chars`` characters in all, 0 for none): a decider without a sticky history
    reads the same results at every decision task.
    """

    def __init__(self, bucket, prefix='flowy/', client=None, threshold=MAX_DATA,
                 cache_chars=16 * 1024 * 1024):
        super().__init__(threshold)
        if not isinstance(bucket, str) or not bucket or '/' in bucket or any(
                char.isspace() for char in bucket):
            raise ValueError('bucket must be the name of an S3 bucket; got %r' % (bucket,))
        if not isinstance(prefix, str) or any(char.isspace() for char in prefix):
            raise ValueError('prefix must be a string without whitespace; got %r' % (prefix,))
        if type(cache_chars) is not int or cache_chars < 0:
            raise ValueError('cache_chars must be a number of characters, 0 or more; got %r'
                             % (cache_chars,))
        if client is None:
            import boto3  # only here: importing flowy must not import boto3
            client = boto3.client('s3')
        self.bucket = bucket
        self.prefix = prefix
        self.client = client
        self.cache_chars = cache_chars
        self._stored = _Recent(4096)
        self._cache = OrderedDict()  # (bucket, key) -> text, least recently used first
        self._cached_chars = 0
        self._lock = threading.Lock()

    def __repr__(self):
        return '<S3PayloadStore s3://%s/%s threshold=%d>' % (self.bucket, self.prefix,
                                                             self.threshold)

    def reference(self, text):
        """The reference ``put(text)`` returns, without storing anything."""
        return '%ss3://%s/%s%s' % (REFERENCE_PREFIX, self.bucket, self.prefix, _digest(text))

    def put(self, text):
        text = _check_text(text, 'a stored value')
        digest = _digest(text)
        key = self.prefix + digest
        if (self.bucket, key) not in self._stored:
            try:
                self.client.put_object(Bucket=self.bucket, Key=key,
                                       Body=text.encode('utf-8', 'surrogatepass'),
                                       ContentType='text/plain; charset=utf-8')
            except Exception as exc:
                raise PayloadError('cannot store a value of %d characters as s3://%s/%s: %s'
                                   % (len(text), self.bucket, key, exc)) from exc
            self._stored.add((self.bucket, key))
        return '%ss3://%s/%s' % (REFERENCE_PREFIX, self.bucket, key)

    def get(self, reference):
        match = _S3_REFERENCE.match(reference)
        if match is None:
            if reference.startswith(REFERENCE_PREFIX + 's3:'):
                raise PayloadMissing('%s is not a valid S3 payload reference' % reference)
            raise PayloadError('%s is not a reference of an S3 payload store; the sender '
                               'used another store: configure the same one here' % reference)
        bucket, key = match.groups()
        digest = key[-64:]
        if not _DIGEST.match(digest):
            raise PayloadMissing('%s is not a valid S3 payload reference: its key does not '
                                 'end with a SHA-256 digest' % reference)
        text = self._cached(bucket, key)
        if text is not None:
            return text
        try:
            response = self.client.get_object(Bucket=bucket, Key=key)
            body = response['Body'].read()
        except Exception as exc:
            code = error_code(exc)
            if code in ('NoSuchKey', 'NoSuchBucket', '404', 'NotFound'):
                raise PayloadMissing('the payload %s does not exist (%s): it was deleted, or '
                                     'never stored' % (reference, code)) from exc
            raise PayloadError('cannot read the payload %s: %s' % (reference, exc)) from exc
        try:
            text = body.decode('utf-8', 'surrogatepass')
        except UnicodeDecodeError as exc:
            raise PayloadMissing('the payload %s is not UTF-8 text: it is not what flowy '
                                 'stored' % reference) from exc
        if _digest(text) != digest:
            raise PayloadMissing('the payload %s does not match its SHA-256 digest: it is not '
                                 'what flowy stored' % reference)
        self._stored.add((bucket, key))
        self._remember(bucket, key, text)
        return text

    def _cached(self, bucket, key):
        with self._lock:
            text = self._cache.get((bucket, key))
            if text is not None:
                self._cache.move_to_end((bucket, key))
            return text

    def _remember(self, bucket, key, text):
        if len(text) > self.cache_chars:
            return
        with self._lock:
            if (bucket, key) in self._cache:
                return
            self._cache[(bucket, key)] = text
            self._cached_chars += len(text)
            while self._cached_chars > self.cache_chars:
                _, dropped = self._cache.popitem(last=False)
                self._cached_chars -= len(dropped)


def encode_field(text, field, store=None, limit=MAX_DATA):
    """The text to send in an SWF field: ``text`` itself, or a reference to it.

    ``text`` is sent as it is when it has at most ``limit`` characters (and at most the
    store's ``threshold``); otherwise it is put in ``store`` and its reference is sent.
    Without a store, raises :class:`PayloadTooLarge`, whose message names ``field`` (a
    description such as ``'the result of square-3-0'``), the size and the limit.  A text
    that starts with :data:`REFERENCE_PREFIX` is always stored (so that it is not taken
    for a reference), and refused without a store.  None stays None.
    """
    if text is None:
        return None
    _check_text(text, field)
    size = len(text)
    reserved = text.startswith(REFERENCE_PREFIX)
    if store is None:
        if size > limit:
            raise PayloadTooLarge(field, size, limit)
        if reserved:
            raise PayloadError('%s starts with %r, which flowy keeps for payload references: '
                               'configure a payload store (it then stores such a value), or '
                               'use a transport whose texts do not start with it'
                               % (field, REFERENCE_PREFIX))
        return text
    if size <= min(limit, store.threshold) and not reserved:
        return text
    try:
        reference = store.put(text)
    except PayloadError:
        raise
    except Exception as exc:
        raise PayloadError('cannot store %s (%d characters) in %r: %s'
                           % (field, size, store, exc)) from exc
    if not is_reference(reference) or len(reference) > limit:
        raise PayloadError('%r returned %r for %s, which is not a reference of at most %d '
                           'characters starting with %r'
                           % (store, reference, field, limit, REFERENCE_PREFIX))
    return reference


def decode_field(text, store=None, field=None):
    """The value of an SWF field: ``text`` itself, or the text its reference names.

    Raises :class:`PayloadMissing` if the reference can never be resolved, and
    :class:`PayloadError` if there is no ``store`` to resolve it with or the store failed;
    the messages name the reference (and ``field``, a description, when given).  None
    stays None.
    """
    if not is_reference(text):
        return text
    where = '' if field is None else ' (%s)' % field
    if store is None:
        raise PayloadError('%s%s is a payload reference, and no payload store is configured '
                           'to read it: give this process the store the sender used '
                           '(flowy.swf.payload.S3PayloadStore(bucket))' % (text, where))
    try:
        value = store.get(text)
    except PayloadMissing as exc:
        if field is None:
            raise
        raise PayloadMissing('%s: %s' % (field, exc)) from exc
    except PayloadError as exc:
        if field is None:
            raise
        raise PayloadError('%s: %s' % (field, exc)) from exc
    except Exception as exc:
        raise PayloadError('cannot read the payload %s%s from %r: %s'
                           % (text, where, store, exc)) from exc
    if type(value) is not str:
        raise PayloadError('%r returned a %s for the payload %s%s; a store returns str'
                           % (store, type(value).__name__, text, where))
    return value
