"""Use cases of the relay (``barua relay``): the HTTP email service of
``docs/http-protocol.md``, its keys, its DKIM key and records, its bounces and its delivery.

A face (``barua relay serve``) authenticates each request with :meth:`RelayService.authenticate`
and hands the body to :meth:`RelayService.prepare` (in a thread), which checks it in the order
of section 5.1 and rewrites and signs the message (section 6). It then awaits
:meth:`RelayService.accept`, which stores the message in the outbox together with its
idempotency record in one transaction shared with the other requests of the moment
(:class:`~barua.outbox.shared.SharedTransactions`); the answer comes back only after that
commit. Every answer is a :class:`RelayAnswer`: status, JSON body, headers.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError

from barua.addresses import validate_address
from barua.app.context import Context
from barua.app.errors import AppError
from barua.app.settings import SettingsUseCases
from barua.errors import BaruaError, MessageError
from barua.message import OutgoingMessage
from barua.outbox.queue import Cut, cut_message
from barua.relaying.bounces import Report, bounce_address, message_of, read_report
from barua.relaying.dkim import Record, dkim_record, dmarc_record, generate_key, spf_record
from barua.relaying.dkim import published_key as published_dkim_key
from barua.relaying.dkim import sign as dkim_sign
from barua.relaying.rewrite import (
    InvalidMime,
    ParsedMime,
    check_request,
    inspect_mime,
    needs_smtputf8,
    rewrite,
)
from barua.store import relay as stored
from barua.store.relay import OPEN_KEY, KeyStatus, RelayConfig, RelayKey, RelayStore, key_hash
from barua.texts import Message, Text
from barua.transports.http_protocol import (
    BEARER_CHALLENGE,
    IDEMPOTENT_REPLAYED,
    MAX_MESSAGE_SIZE,
    MAX_RECIPIENTS,
    PROTOCOL_VERSION,
    RETRY_AFTER,
    WWW_AUTHENTICATE,
    Acceptance,
    ErrorCode,
    InvalidRequest,
    MessageRequest,
    bearer_key,
    decode_request,
    encode_acceptance,
    encode_error,
    encode_refused,
    is_json,
    request_size_limit,
    retry_after,
)

__all__ = [
    "RELAY_BUSINESS",
    "ErrorCode",
    "RelayAnswer",
    "RelayKey",
    "RelayOptions",
    "RelayService",
    "RelayUseCases",
    "error_answer",
    "is_json",
    "request_size_limit",
]

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from barua.outbox.endings import NotReached
    from barua.outbox.shared import SharedTransactions
    from barua.outbox.worker import Worker, WorkerConfig

RELAY_BUSINESS = "relay"
"""The outbox's name for the relay's mail: delivered by the relay's worker, not a business's."""
KEY_MEMORY = 1.0
"""Seconds a relay process trusts a key it has looked up, instead of a look in the database
for every request. No message of a key disabled or revoked is accepted after the change: the
decision reads the key's status again, in its transaction (holding the key's row on
PostgreSQL). Within those seconds, a request of such a key that fails an earlier check of
section 5.1 (its content type, size or shape) is answered that failure, not 401 or 403."""
_KNOWN_KEYS = 10_000
NOTICE_SETTLE = 30.0
"""Seconds after a delivery ends before its failures are told: on PostgreSQL a delivery
logged just before may still be committing (see :meth:`RelayStore.notice_failures`)."""
log = logging.getLogger("barua.relay")

NO_SENDING_ADDRESS = Message("app.relay_no_sending_address", "the relay has no sending address yet")
NO_SENDING_ADDRESS_HINT = Message(
    "app.relay_no_sending_address_hint",
    "Set the address it sends from: `barua relay settings --sending-address "
    "noreply@mail.example.com`.",
)
NO_DKIM = Message("app.relay_no_dkim", "the relay has no DKIM key yet")
NO_DKIM_HINT = Message(
    "app.relay_no_dkim_hint",
    "Make one: `barua relay dkim generate --domain mail.example.com --selector barua`.",
)
SENDER_INVALID = Message(
    "app.relay_sender_invalid", '"{value}" is neither an email address nor @domain'
)
LIMIT_INVALID = Message("app.relay_limit_invalid", "{option} must be a whole number of 1 or more")
GAVE_UP = Message("app.relay_gave_up", "not delivered: the relay gave up")
# The next hop says the address does not exist (RFC 3463: 5.1.1 bad mailbox, 5.1.2 bad
# system, 5.1.3 bad syntax, 5.1.10 null MX): sending again can only bounce again. Other 5xx
# (a policy, the relay's own sender refused) say nothing about the address, which stays.
_NO_SUCH_MAILBOX = re.compile(r"(?<![\d.])5\.1\.(?:1|2|3|10)(?![\d.])")
BOUNCE_NOTICE_SUBJECT = Message("app.relay_bounce_subject", "Undelivered: {subject}")
BOUNCE_NOTICE_TEXT = Message(
    "app.relay_bounce_text",
    "Your message {message_id} could not be delivered to:\n\n{failures}\n\n"
    "Addresses that failed for good are no longer sent to by this relay.",
)


@dataclass(frozen=True, slots=True)
class RelayAnswer:
    """An answer of the relay: its status, JSON body and headers."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def error_answer(code: ErrorCode, message: str, **fields: Any) -> RelayAnswer:
    """The answer of an error: its status, its JSON body, and ``Retry-After`` (seconds, from
    ``retry=``) or the Bearer challenge where the protocol asks for them."""
    wait = fields.pop("retry", None)
    headers: dict[str, str] = {}
    if code.status == 401:
        headers[WWW_AUTHENTICATE] = BEARER_CHALLENGE
    if wait is not None:
        headers[RETRY_AFTER] = retry_after(wait)
    return RelayAnswer(code.status, encode_error(code, message, **fields), headers)


@dataclass(frozen=True, slots=True)
class RelayOptions:
    """How a relay answers: its limits, open mode, and how long a repeated request waits."""

    max_message_size: int = MAX_MESSAGE_SIZE
    max_recipients: int = MAX_RECIPIENTS
    open: bool = False
    """Requests without a key are taken, all as one identity (loopback only: the face checks)."""
    open_senders: tuple[str, ...] = ()
    """What open mode may send as (addresses, @domains); empty: anything."""
    wait_in_progress: float = 10.0
    """Seconds a request waits for the first one with its Message-ID before ``409``."""
    open_rate_per_minute: int | None = 60
    """Open mode: messages a minute from one client address (in this process); None: no limit."""


@dataclass(frozen=True, slots=True)
class Candidates:
    """A request's recipients once checked alone: those to look up, those refused, in the
    order given, each distinct address once under its first spelling."""

    to_check: tuple[str, ...]
    refused: dict[str, tuple[int, str]]


class _InFlight:
    """The requests being decided in this process, by identity and Message-ID (all of them
    on the face's event loop)."""

    def __init__(self) -> None:
        self._running: dict[tuple[int, str], asyncio.Event] = {}

    @asynccontextmanager
    async def hold(self, identity: int, message_id: str, *, wait: float) -> AsyncIterator[bool]:
        """Hold the pair while the block runs; yields False when another request held it
        for longer than ``wait`` seconds (the caller answers ``409 in_progress``)."""
        pair = (identity, message_id)
        deadline = time.monotonic() + wait
        while (running := self._running.get(pair)) is not None:
            try:
                await asyncio.wait_for(running.wait(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                yield False
                return
        mine = self._running[pair] = asyncio.Event()
        try:
            yield True
        finally:
            del self._running[pair]
            mine.set()


@dataclass(frozen=True, slots=True)
class Prepared:
    """A request checked, its message rewritten and signed: what is left is :attr:`decide`,
    which :meth:`RelayService.accept` runs in the shared transaction."""

    key: RelayKey
    request: MessageRequest
    reference: str
    decide: Callable[[Connection], RelayAnswer]


@dataclass(slots=True)
class _RateTaken:
    """Whether a request took from its client address's rate (open mode)."""

    done: bool = False


class AddressRates:
    """A token bucket per client address (open mode, where one identity is everyone): each
    address may send ``per_minute`` messages a minute, in bursts of as many. At most
    ``max_addresses`` are remembered; past that the fullest buckets are forgotten (a forgotten
    bucket is full anyway)."""

    def __init__(self, per_minute: int, *, max_addresses: int = 10_000) -> None:
        self.per_minute = per_minute
        self._max = max_addresses
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def wait(self, address: str, now: float) -> float:
        """Seconds before ``address`` may send one more: 0 when it may now."""
        with self._lock:
            tokens = self._tokens(address, now)
        return 0.0 if tokens >= 1 else (1 - tokens) * 60 / self.per_minute

    def take(self, address: str, now: float) -> None:
        """Count one message of ``address``."""
        with self._lock:
            tokens = self._tokens(address, now) - 1
            if len(self._buckets) >= self._max and address not in self._buckets:
                self._forget(now)
            self._buckets[address] = (tokens, now)

    def _tokens(self, address: str, now: float) -> float:
        found = self._buckets.get(address)
        if found is None:
            return float(self.per_minute)
        tokens, at = found
        return min(float(self.per_minute), tokens + max(0.0, now - at) * self.per_minute / 60)

    def _forget(self, now: float) -> None:
        full = [a for a in self._buckets if self._tokens(a, now) >= self.per_minute]
        for address in full or list(self._buckets)[: self._max // 10 or 1]:
            del self._buckets[address]


def ready_relay_config(app: RelayUseCases) -> RelayConfig:
    """The relay's settings, when they let it serve (:class:`AppError` while it has no sending
    address); reading them makes the database ready first."""
    config = app.relay_config()
    if not config.sending_address:
        raise AppError(NO_SENDING_ADDRESS(), hint=NO_SENDING_ADDRESS_HINT())
    return config


class RelayService:
    """What the relay answers to each request (see the module docstring); one per process."""

    def __init__(self, app: RelayUseCases, options: RelayOptions) -> None:
        from barua.outbox.shared import SharedTransactions

        self._app = app
        self.options = options
        self.config = ready_relay_config(app)
        self._store = app.relay_store
        self._outbox = app.outbox
        self._shared: SharedTransactions = SharedTransactions(app.outbox.engine)
        self._in_flight = _InFlight()
        self._known: dict[str, tuple[RelayKey, float]] = {}
        self._open_key = replace(OPEN_KEY, senders=options.open_senders)
        rate = options.open_rate_per_minute
        self._open_rates = AddressRates(rate) if options.open and rate else None

    def close(self) -> None:
        self._shared.close()

    # Authentication (section 3) and health (section 10) ----------------------------------------

    def authenticate(self, authorization: str | None) -> RelayKey | RelayAnswer:
        """The identity of a request's ``Authorization``, or the ``401``/``403`` to answer."""
        if not authorization or not authorization.strip():
            if self.options.open:
                return self._open_key
            return error_answer(ErrorCode.MISSING_API_KEY, "An API key is required.")
        key = bearer_key(authorization)
        try:
            found = self._store.identify(key) if key is not None else None
        except BaruaError:
            return self.unavailable()
        refused = _refusal(found.status if found is not None else None)
        if refused is not None:
            return refused
        assert found is not None and key is not None
        if len(self._known) >= _KNOWN_KEYS:
            self._known.clear()
        self._known[key_hash(key)] = (found, time.monotonic() + KEY_MEMORY)
        return found

    def remembered(self, authorization: str | None) -> RelayKey | None:
        """The enabled key of ``authorization`` when :meth:`authenticate` found it less than
        :data:`KEY_MEMORY` seconds ago (or open mode's, without one), without a look in the
        database; None when it must be looked up."""
        if not authorization or not authorization.strip():
            return self._open_key if self.options.open else None
        key = bearer_key(authorization)
        known = self._known.get(key_hash(key)) if key is not None else None
        if known is None or known[1] < time.monotonic():
            return None
        return known[0]

    def health(self, authorization: str | None) -> RelayAnswer:
        authenticated = False
        if authorization and authorization.strip():
            found = self.authenticate(authorization)
            if isinstance(found, RelayAnswer):
                return replace(found, headers={**found.headers, "Cache-Control": "no-store"})
            authenticated = True
        status, state = 200, "ok"
        try:
            self._outbox.counts()
        except BaruaError:
            status, state = 503, "unavailable"
        body = {
            "status": state,
            "versions": [PROTOCOL_VERSION],
            "max_message_size": self.options.max_message_size,
            "max_recipients": self.options.max_recipients,
            "features": [],
            "authenticated": authenticated,
        }
        headers = {"Cache-Control": "no-store"}
        if status == 503:
            headers[RETRY_AFTER] = "5"
        return RelayAnswer(status, json.dumps(body).encode(), headers)

    def forget_old_decisions(self, *, now: float | None = None) -> int:
        """Delete the idempotency records older than the 24 hours of section 7 (a request
        after that is judged afresh); how many. The face calls it periodically."""
        now = time.time() if now is None else now
        return self._store.forget_decisions(before=now - stored.IDEMPOTENCY_WINDOW)

    def unavailable(self) -> RelayAnswer:
        return error_answer(ErrorCode.UNAVAILABLE, "The service cannot take messages now.", retry=5)

    # Accepting a message (sections 5 to 7) -----------------------------------------------------

    def prepare(
        self, key: RelayKey, body: bytes, *, client: str | None = None
    ) -> Prepared | RelayAnswer:
        """The request ``body`` of ``key`` from the address ``client`` checked in the order of
        section 5.1 from the shape on (authentication, content type and the size of the body
        are the face's, before it reads the body), its message rewritten and signed; or the
        answer to a request that is not valid. Work for a thread: the signature lets go of
        the interpreter lock, and the checks are Python."""
        options = self.options
        try:
            request = decode_request(
                body,
                max_message_size=options.max_message_size,
                max_recipients=options.max_recipients,
            )
            parsed = inspect_mime(request.mime)
            check_request(parsed, message_id=request.message_id, mail_from=request.mail_from)
        except InvalidRequest as exc:
            return RelayAnswer(exc.status, exc.answer())
        except InvalidMime as exc:
            return error_answer(ErrorCode(exc.code), exc.message)
        data = self._prepared(key, parsed)
        candidates = checked_recipients(
            request.recipients,
            smtputf8=self.config.smtputf8 is not False,
            utf8_message=needs_smtputf8(data),
        )
        reference = new_reference()
        message = OutgoingMessage(
            message_id=request.message_id,
            sender=bounce_address(self.config.bounces or "", reference),
            recipients=(),
            data=data,
            subject=_subject(parsed),
        )
        decide = partial(
            self._decide,
            key=key,
            request=request,
            fingerprint=request_fingerprint(request),
            candidates=candidates,
            message=message,
            cut=cut_message(data, crlf=True),  # rewrite() ends every line in CRLF
            reference=reference,
            client=client or "",
            taken=_RateTaken(),
        )
        return Prepared(key, request, reference, decide)

    async def accept(self, prepared: Prepared) -> RelayAnswer:
        """The answer to a prepared request, once its decision is committed (steps 5 to 9 of
        section 5.1): the event loop serves other requests while it waits."""
        request = prepared.request
        wait = self.options.wait_in_progress
        async with self._in_flight.hold(prepared.key.id, request.message_id, wait=wait) as ok:
            if not ok:
                return _in_progress()
            for _ in range(2):
                try:
                    answer: RelayAnswer = await self._shared.run_async(prepared.decide)
                except IntegrityError:
                    continue  # another process recorded this Message-ID first: decide again
                except BaruaError:
                    return self.unavailable()
                except Exception as exc:
                    from barua.outbox.shared import LockTimeout

                    if isinstance(exc, LockTimeout):
                        return _in_progress()
                    raise
                log.info(
                    "%s %s key=%s recipients=%d status=%d",
                    prepared.reference,
                    request.message_id,
                    prepared.key.id,
                    len(request.recipients),
                    answer.status,
                )
                return answer
        return _in_progress()

    def _prepared(self, key: RelayKey, parsed: ParsedMime) -> bytes:
        """The message as it is sent: rewritten (section 6), then signed."""
        sending = key.from_address or self.config.sending_address or ""
        data = rewrite(parsed, sending_address=sending)
        config = self.config
        if config.dkim_key and config.dkim_domain and config.dkim_selector:
            data = dkim_sign(
                data, key=config.dkim_key, domain=config.dkim_domain, selector=config.dkim_selector
            )
        return data

    def _decide(
        self,
        conn: Any,
        *,
        key: RelayKey,
        request: MessageRequest,
        fingerprint: str,
        candidates: Candidates,
        message: OutgoingMessage,
        cut: Cut,
        reference: str,
        client: str,
        taken: _RateTaken,
    ) -> RelayAnswer:
        """Steps 5 to 9 of section 5.1, in the shared transaction (perhaps twice, see
        :mod:`barua.outbox.shared`: the open mode's rate is taken once, in ``taken``)."""
        now = time.time()
        wanted = {stored.normalised(r): r for r in candidates.to_check}
        opened = key.id == OPEN_KEY.id
        known = stored.facts(
            conn, key.id, request.message_id, list(wanted),
            now=now, key=not opened, limited=key.limited,
        )  # fmt: skip
        if not opened:
            # The key as it is now: remembered for a moment by the face, it may have been
            # disabled or revoked since (see KEY_MEMORY).
            not_now = _refusal(known.key_status)
            if not_now is not None:
                return not_now
        found = known.decision
        if found is not None:
            if found.fingerprint != fingerprint:
                return error_answer(
                    ErrorCode.IDEMPOTENCY_CONFLICT,
                    "Another message was sent with this message_id.",
                )
            return RelayAnswer(found.status, found.answer, {IDEMPOTENT_REPLAYED: "true"})
        if key.senders and not key.may_send_as(request.mail_from):
            return error_answer(
                ErrorCode.SENDER_NOT_ALLOWED, "This key may not send as envelope.mail_from."
            )
        limited = stored.allowance(conn, key, now=now)
        if limited is not None:
            if limited.quota:
                text = f"This key may send {limited.limit} messages a day."
                return error_answer(ErrorCode.QUOTA_EXCEEDED, text, retry=limited.retry_after)
            text = f"This key may send {limited.limit} messages a minute."
            return error_answer(ErrorCode.RATE_LIMITED, text, retry=limited.retry_after)
        rates = self._open_rates if key.id == OPEN_KEY.id and not taken.done else None
        if rates is not None:
            wait = rates.wait(client, now)
            if wait > 0:
                text = f"This address may send {rates.per_minute} messages a minute."
                return error_answer(ErrorCode.RATE_LIMITED, text, retry=wait)
        refused = dict(candidates.refused)
        for address, (code, reason) in known.suppressed.items():
            refused[wanted[address]] = (code, f"5.7.1 address is on the suppression list: {reason}")
        accepted = tuple(r for r in candidates.to_check if r not in refused)
        if not accepted:
            body = encode_error(
                ErrorCode.RECIPIENTS_REFUSED,
                "Every recipient was refused.",
                refused=encode_refused(refused),
            )
            stored.record(
                conn, key.id, request.message_id,
                fingerprint=fingerprint, status=422, answer=body, now=now,
            )  # fmt: skip
            return RelayAnswer(422, body)
        stored.consume(conn, key, now=now)
        body = encode_acceptance(Acceptance(reference, request.message_id, accepted, refused))
        # With the entry (one statement on PostgreSQL): what the relay keeps of the message
        # and the decision, which an idempotency record already taken makes fail with it.
        beside = (
            stored.remembered_message(
                reference, identity=key.id, mail_from=request.mail_from,
                message_id=request.message_id, now=now,
            ),
            stored.decided(
                key.id, request.message_id,
                fingerprint=fingerprint, status=202, answer=body, now=now,
            ),
        )  # fmt: skip
        self._outbox.insert(
            conn, replace(message, recipients=accepted), business=RELAY_BUSINESS, cut=cut,
            beside=beside,
        )  # fmt: skip
        if rates is not None:
            rates.take(client, now)  # last: a record refused by another process takes nothing
            taken.done = True
        return RelayAnswer(202, body)


def _refusal(status: str | None) -> RelayAnswer | None:
    """The answer to a request with a key of ``status`` (None: no such key), or None when
    the key may send."""
    if status is None or status == KeyStatus.REVOKED:
        return error_answer(ErrorCode.INVALID_API_KEY, "The API key is not valid.")
    if status != KeyStatus.ENABLED:
        return error_answer(ErrorCode.KEY_DISABLED, "The API key is disabled.")
    return None


def _in_progress() -> RelayAnswer:
    return error_answer(
        ErrorCode.IN_PROGRESS, "A request with this message_id is being processed.", retry=1
    )


def _subject(parsed: ParsedMime) -> str:
    """The Subject as the outbox shows it (bytes that are not UTF-8 shown as U+FFFD; the
    message's own bytes stay as they are)."""
    header = parsed.get(b"subject")
    if header is None:
        return ""
    return header.value.replace(b"\r\n", b"").decode("utf-8", "replace").strip()[:200]


def new_reference() -> str:
    """A new id of an accepted message: ``msg_`` and 26 random characters of base32
    (``A``-``Z``, ``2``-``7``: 130 bits)."""
    return "msg_" + base64.b32encode(secrets.token_bytes(17)).decode("ascii")[:26]


def request_fingerprint(request: MessageRequest) -> str:
    """SHA-256 over ``envelope.mail_from``, the recipients in order and the decoded MIME."""
    digest = hashlib.sha256()
    digest.update(json.dumps([request.mail_from, list(request.recipients)]).encode("utf-8"))
    digest.update(b"\x00")
    digest.update(request.mime)
    return digest.hexdigest()


NO_SMTPUTF8_REASON = "5.6.7 the next hop does not accept international email (SMTPUTF8)"


def checked_recipients(
    recipients: tuple[str, ...], *, smtputf8: bool = True, utf8_message: bool = False
) -> Candidates:
    """Each distinct recipient (domains compared without case) under its first spelling,
    refused with ``553`` when it is not a bare address, or (``smtputf8`` False: the next hop
    does not offer SMTPUTF8) when it, or the message (``utf8_message``), needs SMTPUTF8
    (section 6.8)."""
    seen: set[str] = set()
    to_check: list[str] = []
    refused: dict[str, tuple[int, str]] = {}
    for recipient in recipients:
        key = stored.normalised(recipient)
        if key in seen:
            continue
        seen.add(key)
        if not _bare_address(recipient):
            refused[recipient] = (553, "5.1.3 the address is not valid")
        elif not smtputf8 and (utf8_message or not recipient.isascii()):
            refused[recipient] = (553, NO_SMTPUTF8_REASON)
        else:
            to_check.append(recipient)
    return Candidates(tuple(to_check), refused)


@lru_cache(maxsize=4096)
def _bare_address(value: str) -> bool:
    """Whether ``value`` is one address without a display name (cached: a business sends to
    the same customers again and again, and each check costs email-validator 0.3 ms)."""
    if not value or len(value) > 254 or value != value.strip() or "<" in value:
        return False
    try:
        checked = validate_address(value, field="recipient")
    except MessageError:
        return False
    return checked.name is None


# The use cases ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DnsFinding:
    """One record the relay's domain needs, and what the DNS has."""

    record: Record
    found: str | None
    ok: bool


@dataclass(frozen=True, slots=True)
class BounceOutcome:
    """What a bounce did: the message it was about (None: not one of the relay's), the
    recipients marked failed and those now suppressed."""

    message: str | None
    failed: tuple[str, ...] = ()
    suppressed: tuple[str, ...] = ()
    notified: bool = False


class RelayUseCases(SettingsUseCases, Context):
    """The relay: its settings, keys, DKIM key, bounces and delivery."""

    @property
    def relay_store(self) -> RelayStore:
        found: RelayStore | None = getattr(self, "_relay_store", None)
        if found is None:
            found = RelayStore(self.engine, home=self.home, secret_key=self.environment.secret_key)
            self._relay_store = found
        return found

    def relay_config(self) -> RelayConfig:
        return self.relay_store.config()

    def update_relay_config(self, **changes: Any) -> RelayConfig:
        """The relay's settings with ``changes`` (sending_address, bounce_address, direct,
        mx_port, domain_connections), saved."""
        for name in ("sending_address", "bounce_address"):
            value = changes.get(name)
            if value:
                changes[name] = validate_address(value, field=name).address
        config = replace(self.relay_config(), **changes)
        self.relay_store.save_config(config)
        return config

    def relay_service(self, options: RelayOptions) -> RelayService:
        return RelayService(self, options)

    # Keys --------------------------------------------------------------------------------------

    def create_relay_key(
        self,
        name: str,
        *,
        senders: list[str],
        rate_per_minute: int | None = None,
        daily_quota: int | None = None,
        from_address: str | None = None,
    ) -> tuple[str, RelayKey]:
        """A new key for ``name`` that may send as ``senders`` (addresses, ``@domains``); the
        key is shown once."""
        checked = tuple(_sender(value) for value in senders)
        for option, value in (("--rate", rate_per_minute), ("--daily-quota", daily_quota)):
            if value is not None and value < 1:
                raise AppError(LIMIT_INVALID(option=option))
        if from_address:
            from_address = validate_address(from_address, field="--from").address
        return self.relay_store.create_key(
            name,
            senders=checked,
            rate_per_minute=rate_per_minute,
            daily_quota=daily_quota,
            from_address=from_address,
        )

    def relay_keys(self) -> list[RelayKey]:
        return self.relay_store.keys()

    def set_relay_key_status(self, name: str, status: str) -> RelayKey:
        return self.relay_store.set_status(name, status)

    def relay_suppressed(self, name: str) -> list[stored.Suppression]:
        return self.relay_store.suppressed(self.relay_store.key_named(name).id)

    def relay_unsuppress(self, name: str, address: str) -> bool:
        return self.relay_store.unsuppress(self.relay_store.key_named(name).id, address)

    # DKIM, SPF, DMARC --------------------------------------------------------------------------

    def generate_dkim(self, *, domain: str, selector: str) -> list[Record]:
        """A new signing key for ``domain`` (kept encrypted), and the records to publish."""
        config = replace(
            self.relay_config(),
            dkim_domain=domain.strip().rstrip(".").lower(),
            dkim_selector=selector.strip(),
            dkim_key=generate_key(),
        )
        self.relay_store.save_config(config)
        return self.dns_records(config)

    def dns_records(self, config: RelayConfig | None = None) -> list[Record]:
        """The DKIM key's record, and the SPF and DMARC records the sending domain needs."""
        config = config or self.relay_config()
        if not (config.dkim_key and config.dkim_domain and config.dkim_selector):
            raise AppError(NO_DKIM(), hint=NO_DKIM_HINT())
        bounce_domain = (config.bounces or f"bounces@{config.dkim_domain}").rpartition("@")[2]
        mechanisms = "a mx"
        if not config.direct:
            settings = self.store.load_effective(self.store.business())
            if settings is not None and settings.host:
                mechanisms = f"a:{settings.host} a mx"
        return [
            dkim_record(config.dkim_key, domain=config.dkim_domain, selector=config.dkim_selector),
            spf_record(bounce_domain, mechanisms=mechanisms),
            dmarc_record(config.dkim_domain),
        ]

    def check_dns(self) -> list[DnsFinding]:
        """Each record of :meth:`dns_records` as the DNS has it: present and right, or not."""
        from barua.setup.spf import DnsLookups, spf_records

        records = self.dns_records()
        lookups = DnsLookups(self.resolver(timeout=5.0), 5.0)
        findings = []
        for record in records:
            try:
                texts = lookups.txt(record.name)
            except Exception:  # a lookup that failed is a record not found
                texts = []
            if record.value.startswith("v=DKIM1"):
                mine = published_dkim_key([record.value])
                theirs = published_dkim_key(texts)
                found = next((t for t in texts if "p=" in t), None)
                findings.append(DnsFinding(record, found, theirs == mine))
            elif record.value.startswith("v=spf1"):
                found_spf = spf_records(texts)
                findings.append(
                    DnsFinding(record, found_spf[0] if found_spf else None, bool(found_spf))
                )
            else:
                found = next((t for t in texts if t.startswith("v=DMARC1")), None)
                findings.append(DnsFinding(record, found, found is not None))
        return findings

    # Bounces -----------------------------------------------------------------------------------

    def relay_bounce(self, data: bytes, *, to: str | None = None) -> BounceOutcome:
        """A bounce that came back to the relay (``to``: its envelope recipient): the failed
        recipients of the message are marked failed, hard bounces go on the key's suppression
        list, and the business is told by email."""
        config = self.relay_config()
        base = config.bounces
        report = read_report(data)
        reference = None
        for address in ([to] if to else []) + report.to:
            reference = message_of(address, base) if base and address else None
            if reference:
                break
        if reference is None:
            return BounceOutcome(None)
        accepted = self.relay_store.accepted_message(reference)
        if accepted is None or not report.failures:
            return BounceOutcome(reference)
        failed, suppressed = [], []
        for failure in report.failures:
            reason = f"{failure.status} {failure.diagnostic}".strip()
            if accepted.outbox_pk is not None:
                self.outbox.mark_bounced(
                    accepted.outbox_pk, failure.recipient, code=failure.code, reply=reason
                )
            failed.append(failure.recipient)
            if failure.permanent:
                self.relay_store.suppress(
                    accepted.identity, failure.recipient, code=550, reason=reason
                )
                suppressed.append(failure.recipient)
        notified = self._notify(config, accepted, report)
        log.info("%s bounced: %d failed, %d suppressed", reference, len(failed), len(suppressed))
        return BounceOutcome(reference, tuple(failed), tuple(suppressed), notified)

    def _notify(
        self, config: RelayConfig, accepted: stored.AcceptedMessage, report: Report
    ) -> bool:
        """Tell the business (``envelope.mail_from``) which recipients failed; the notice's
        envelope sender is empty, so it never bounces back."""
        failures = "\n".join(
            f"  {f.recipient}: {f.status} {f.diagnostic}".rstrip() for f in report.failures
        )
        notice = self._notice(config, accepted, failures)
        if notice is None:
            return False
        self.outbox.enqueue(notice, business=RELAY_BUSINESS)
        return True

    def _notice(
        self, config: RelayConfig, accepted: stored.AcceptedMessage, failures: str
    ) -> OutgoingMessage | None:
        """The email that tells the business its message was not delivered to some of its
        recipients (``failures``, a line each), DKIM-signed, with an empty envelope sender;
        None while the relay has no sending address."""
        from barua.addresses import Mailbox
        from barua.message import compose

        if not config.sending_address:
            return None
        notice = compose(
            sender=Mailbox(config.sending_address),
            to=[accepted.mail_from],
            subject=BOUNCE_NOTICE_SUBJECT(subject=accepted.message_id).render(),
            text=BOUNCE_NOTICE_TEXT(message_id=accepted.message_id, failures=failures).render(),
        )
        data = notice.data
        if config.dkim_key and config.dkim_domain and config.dkim_selector:
            data = dkim_sign(
                data, key=config.dkim_key, domain=config.dkim_domain, selector=config.dkim_selector
            )
        return replace(notice, sender="", data=data)

    def notify_delivery_failures(self, *, settle: float = NOTICE_SETTLE) -> int:
        """Tell each business by email which recipients of its relayed messages the next hop
        refused for good, or the relay gave up on (section 5.3 of the HTTP protocol), and put
        the addresses the next hop says do not exist (5.1.x) on the key's suppression list;
        how many messages were told about.

        The delivery log is read past a mark kept with the relay's settings, and the notices,
        the suppressions and the mark's move are one transaction: each delivery that ended at
        least ``settle`` seconds ago is told once, by whichever relay process or worker looks
        first, and none is lost to a crash. The first look starts an hour back: a relay's
        older past is not told."""
        from barua.outbox.endings import attempt_before, failed_endings

        config = self.relay_config()
        if not config.sending_address:
            return 0
        now = time.time()
        try:
            with self.engine.begin() as conn:
                mark = stored.notice_mark(conn)
                if mark is None:
                    mark = attempt_before(conn, now - 3600)
                    stored.start_notice_mark(conn, mark)
                endings = failed_endings(
                    conn, business=RELAY_BUSINESS, after=mark, settled_before=now - settle
                )
                if endings.read_to == mark:
                    return 0
                accepted = stored.accepted_by_outbox(conn, list(endings.not_reached))
                for entry, message in accepted.items():
                    self._tell(conn, config, message, endings.not_reached[entry])
                if not stored.move_notice_mark(conn, mark, endings.read_to):
                    raise _Overtaken
        except (_Overtaken, IntegrityError):  # another process told them, or starts the mark
            return 0
        if accepted:
            log.info("told the businesses of %d messages not delivered", len(accepted))
        return len(accepted)

    def _tell(
        self,
        conn: Connection,
        config: RelayConfig,
        accepted: stored.AcceptedMessage,
        not_reached: tuple[NotReached, ...],
    ) -> None:
        """Within ``conn``'s transaction: the notice of ``not_reached`` queued, and the
        addresses that do not exist suppressed."""
        lines = "\n".join(
            f"  {failed.address}: {_said(failed.code, failed.reply)}" for failed in not_reached
        )
        notice = self._notice(config, accepted, lines)
        assert notice is not None  # the caller checked the sending address
        self.outbox.insert(conn, notice, business=RELAY_BUSINESS)
        for failed in not_reached:
            if _NO_SUCH_MAILBOX.search(failed.reply):
                stored.suppress(
                    conn,
                    accepted.identity,
                    failed.address,
                    code=failed.code or 550,
                    reason=failed.reply,
                )

    def notify_delivery_failures_every(
        self, seconds: float, *, settle: float = NOTICE_SETTLE
    ) -> Callable[[], None]:
        """:meth:`notify_delivery_failures` now and every ``seconds`` in a thread (a database
        that does not answer is tried again at the next round); the function that stops it."""
        stop = threading.Event()

        def loop() -> None:
            while True:
                try:
                    self.notify_delivery_failures(settle=settle)
                except Exception as exc:  # the thread stays, for the next round
                    log.warning("could not tell of messages not delivered: %s", exc)
                if stop.wait(seconds):
                    return

        thread = threading.Thread(target=loop, name="barua-relay-notices", daemon=True)
        thread.start()

        def stopped() -> None:
            stop.set()
            thread.join(timeout=30)

        return stopped

    def is_relay_bounce(self, address: str) -> bool:
        """Whether ``address`` is a bounce address of this relay (its bounce address with a
        message id after the ``+``): what the bounce listener takes mail for."""
        base = self.relay_config().bounces
        return bool(base) and message_of(address, base or "") is not None

    def relay_bounces_in(self, maildir: str) -> list[BounceOutcome]:
        """Every bounce waiting in the Maildir ``maildir`` (its ``new/``), each moved to
        ``cur/`` once handled."""
        from pathlib import Path

        folder = Path(maildir)
        outcomes = []
        for path in sorted((folder / "new").glob("*")):
            if not path.is_file():
                continue
            with path.open("rb") as file:
                data = file.read(2_000_000)
            outcomes.append(self.relay_bounce(data))
            (folder / "cur").mkdir(exist_ok=True)
            path.rename(folder / "cur" / f"{path.name}:2,S")
        return outcomes

    # Delivery ----------------------------------------------------------------------------------

    def relay_worker(
        self, config: WorkerConfig | None = None, *, log: Callable[[Text], None] | None = None
    ) -> Worker:
        """The worker that delivers the relay's mail: through the home's email settings (a
        smarthost), or with ``barua relay settings --direct`` to each recipient's MX."""
        from barua.app.oauth import transport_factory
        from barua.outbox.worker import Worker, WorkerConfig
        from barua.settings import make_settings
        from barua.transports.direct import DirectTransport, DomainSlots

        relay = self.relay_config()
        worker_config = replace(config or WorkerConfig(), business=RELAY_BUSINESS)
        if relay.direct:
            domain = (relay.sending_address or "relay@localhost").rpartition("@")[2]
            settings = make_settings(
                host=domain,
                port=relay.mx_port,
                security="starttls_if_offered",
                email_address=relay.bounces or relay.sending_address,
                skip_tls_verify=True,
            )
            slots = DomainSlots(relay.domain_connections)
            resolver = self.resolver(timeout=10.0)

            def direct(settings: Any, _limits: Any, _observer: Any) -> Any:
                return DirectTransport(
                    resolver=resolver, port=relay.mx_port, slots=slots, timeout=settings.timeout
                )

            return Worker(
                self.outbox, settings, config=worker_config, transport_factory=direct, log=log
            )
        business = self.store.business()
        return Worker(
            self.outbox,
            lambda: self.settings_in_effect(business),
            config=worker_config,
            transport_factory=transport_factory(self.store, business),
            log=log,
        )


class _Overtaken(Exception):
    """Another process moved the mark first: it told the same failures."""


def _said(code: int | None, reply: str) -> str:
    """What the next hop answered for a recipient, its code first; that the relay gave up
    when it answered nothing."""
    if not reply:
        return GAVE_UP().render() if code is None else str(code)
    if code is None or reply.startswith(str(code)):
        return reply
    return f"{code} {reply}"


def _sender(value: str) -> str:
    """An address or ``@domain`` a key may send as, checked."""
    value = value.strip()
    if value.startswith("@"):
        domain = value[1:].rstrip(".").lower()
        if domain and "@" not in domain and "." in domain and " " not in domain:
            return "@" + domain
        raise AppError(SENDER_INVALID(value=value))
    try:
        return validate_address(value, field="--sender").address
    except MessageError:
        raise AppError(SENDER_INVALID(value=value)) from None
