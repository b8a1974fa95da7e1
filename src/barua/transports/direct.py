"""Delivery straight to each recipient's mail server (its MX), for a relay that sends itself.

The recipients of a message are grouped by domain; for each domain the MX hosts are looked up
with dnspython (the domain itself when it has none, RFC 5321 section 5.1; a null MX refuses
mail) and tried in order of preference, each of its addresses in turn, until one answers.
STARTTLS is used whenever a server offers it (opportunistic TLS, RFC 7435: an MX's
certificate is rarely for its name, so it is not verified), no password is ever sent. What a
server refuses for good (5xx) is refused for those recipients; anything else (4xx, no answer,
no MX reachable) is refused for now (4xx), so the outbox tries those recipients again later.
At most ``per_domain`` connections go to one domain at a time (:class:`DomainSlots`, shared
by every thread of a worker).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

import dns.exception
import dns.resolver

from barua.errors import ConnectError, RecipientRefused, Step, TemporaryError, TransportError
from barua.message import OutgoingMessage
from barua.settings import make_settings
from barua.transports import messages as say
from barua.transports.base import ClosesOnExit, SendResult
from barua.transports.smtp import SmtpTransport


class DomainSlots:
    """How many connections may go to each domain at once, shared between threads."""

    def __init__(self, per_domain: int = 2) -> None:
        self.per_domain = max(1, per_domain)
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}

    @contextmanager
    def slot(self, domain: str) -> Iterator[None]:
        with self._lock:
            semaphore = self._slots.setdefault(domain, threading.BoundedSemaphore(self.per_domain))
        with semaphore:
            yield


class _Refusal(Exception):
    """Every MX of a domain failed: the code (4xx for now, 5xx for good) and why."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


class DirectTransport(ClosesOnExit):
    """Sends each message to its recipients' MX hosts (see the module docstring)."""

    def __init__(
        self,
        *,
        resolver: dns.resolver.Resolver,
        port: int = 25,
        timeout: float = 30.0,
        slots: DomainSlots | None = None,
        smtp: Callable[..., SmtpTransport] = SmtpTransport,
    ) -> None:
        self._resolver = resolver
        self.port = port
        self.timeout = timeout
        self._slots = slots or DomainSlots()
        self._smtp = smtp
        self.host = "mx"

    def close(self) -> None:
        """Nothing stays open between sends."""

    def send(
        self,
        message: OutgoingMessage,
        *,
        meanwhile: Callable[[], None] | None = None,
        then: OutgoingMessage | None = None,
    ) -> SendResult:
        """Deliver ``message`` to every recipient's MX; ``meanwhile`` runs first."""
        if meanwhile is not None:
            meanwhile()
        domains: dict[str, list[str]] = {}
        for recipient in message.recipients:
            domains.setdefault(recipient.rpartition("@")[2].lower(), []).append(recipient)
        accepted: list[str] = []
        refused: dict[str, tuple[int, str]] = {}
        replies: list[str] = []
        for domain, recipients in domains.items():
            part = replace(message, recipients=tuple(recipients))
            try:
                result = self._send_domain(domain, part)
            except _Refusal as exc:
                refused.update(dict.fromkeys(recipients, (exc.code, exc.text)))
                continue
            except RecipientRefused as exc:
                refused.update(exc.refused)
                continue
            accepted.extend(result.accepted)
            refused.update(result.refused)
            replies.append(f"{domain}: {result.code} {result.reply}")
        if not accepted:
            names = ", ".join(f"{r} ({c} {t})" for r, (c, t) in refused.items())
            raise RecipientRefused(
                say.SMTP_EVERY_RECIPIENT_REFUSED(refusals=names), refused=refused, host=self.host
            )
        return SendResult(
            message_id=message.message_id,
            accepted=tuple(accepted),
            refused=refused,
            code=250,
            reply="; ".join(replies),
            server="mx",
        )

    def _send_domain(self, domain: str, message: OutgoingMessage) -> SendResult:
        last: TransportError | None = None
        for host in self._mx(domain):
            for address in self._addresses(host):
                settings = make_settings(
                    host=address,
                    port=self.port,
                    security="starttls_if_offered",
                    # MAIL FROM is the message's own sender; this only names a sender.
                    email_address=message.sender or f"postmaster@{domain}",
                    skip_tls_verify=True,
                    timeout=self.timeout,
                )
                with self._slots.slot(domain), self._smtp(settings) as smtp:
                    try:
                        return smtp.send(message)
                    except RecipientRefused:
                        raise
                    except TransportError as exc:
                        if _permanent(exc):
                            raise _Refusal(exc.code or 550, exc.reply or str(exc)) from exc
                        last = exc
        if last is None:
            raise _Refusal(451, f"4.4.4 no mail server of {domain} could be found")
        raise _Refusal(451, f"4.4.1 no mail server of {domain} took the message: {last}")

    def _mx(self, domain: str) -> list[str]:
        """The MX hosts of ``domain`` by preference, or the domain itself when it has none."""
        try:
            answer = self._resolver.resolve(domain, "MX")
        except dns.resolver.NXDOMAIN as exc:
            raise _Refusal(550, f"5.1.2 the domain {domain} does not exist") from exc
        except dns.resolver.NoAnswer:
            return [domain]
        except dns.exception.DNSException as exc:
            raise _Refusal(451, f"4.4.3 the MX of {domain} could not be looked up") from exc
        hosts = sorted((r.preference, str(r.exchange).rstrip(".")) for r in answer)
        if len(hosts) == 1 and hosts[0][1] in ("", "."):
            raise _Refusal(556, f"5.1.10 {domain} accepts no mail (null MX)")
        return [host for _, host in hosts if host not in ("", ".")]

    def _addresses(self, host: str) -> list[str]:
        found: list[str] = []
        for kind in ("A", "AAAA"):
            try:
                found.extend(str(r) for r in self._resolver.resolve(host, kind))
            except dns.exception.DNSException:
                continue
        return found


def _permanent(error: TransportError) -> bool:
    """A refusal for good of the message by a server that answered (not a connection or TLS
    failure, which another MX may not have)."""
    return (
        not error.temporary
        and error.code is not None
        and 500 <= error.code < 600
        and error.step in (Step.MAIL_FROM, Step.RCPT_TO, Step.DATA)
        and not isinstance(error, ConnectError | TemporaryError)
    )
