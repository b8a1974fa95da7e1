"""``barua settings detect ADDR``: propose SMTP settings for an address, never save them.

The sources are tried from the most to the least certain, and the first that answers wins:

0. a domain one typo away from a known provider's (``gmial.com``) may belong to anyone: the
   search stops there and proposes nothing until the caller confirms (``confirm_lookalike``);
1. the address's domain belongs to a known provider (``gmail.com`` → Gmail);
2. the domain's MX records point at a hosted provider (a shop's domain on Google Workspace);
3. the domain publishes Thunderbird autoconfig XML (``outgoingServer type="smtp"``);
4. ``smtp.DOMAIN`` / ``mail.DOMAIN`` answer on 465 (SSL/TLS) or 587 (STARTTLS).

Every network access is injectable (``resolver``, ``http``, ``autoconfig_urls``,
``probe_hosts``) so the tests run against servers on loopback. Failures along the way (a DNS
timeout, a 404) are not errors: they are recorded in :attr:`Proposal.tried` and the next source
is asked.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from xml.parsers import expat

import dns.exception
import dns.resolver
import httpx

from barua.addresses import validate_address
from barua.errors import SettingsError
from barua.i18n import N_
from barua.settings import OAuthProvider, Security, make_settings
from barua.setup.advice import password_advice
from barua.setup.providers import (
    PasswordKind,
    Preset,
    preset_for_domain,
    preset_for_mx,
    preset_settings,
)
from barua.setup.providers import suggest_domain as _suggest_domain
from barua.setup.resolver import make_resolver
from barua.transports.tls import make_tls_context

MAX_AUTOCONFIG_BYTES = 1_000_000
"""Autoconfig documents are a few KB; anything larger is refused unread."""
_MAX_REDIRECTS = 3

ProbeHosts = Mapping[str, str] | Callable[[str], str | None]
"""Where a probed name points: a mapping name → IP, or a function returning the IP or None."""


class Source(StrEnum):
    """Where the proposed settings come from, from the most to the least certain."""

    PRESET = "preset"
    """The address's domain belongs to a known provider."""
    MX = "mx"
    """The domain's MX records point at a known hosted provider."""
    AUTOCONFIG = "autoconfig"
    """The domain publishes its settings as Thunderbird autoconfig XML."""
    PROBE = "probe"
    """A server answered at smtp.DOMAIN or mail.DOMAIN."""
    NONE = "none"
    """Nothing was found: the user must ask their provider."""
    LOOKALIKE = "lookalike"
    """The domain looks like a known provider's: nothing is proposed until the user confirms."""


_PRESET = N_(
    "{address} is an address at {provider}. Send through {host} port {port} with {security}."
)
_MX = N_(
    "Email for {domain} is hosted by {provider} (its MX record is {mx}). Send through {host} "
    "port {port} with {security}."
)
_AUTOCONFIG = N_(
    "{domain} publishes its email settings at {url}. Send through {host} port {port} with "
    "{security}."
)
_PROBE = N_(
    "A mail server answers at {host} port {port} with {security}. Check with your email "
    "provider that it is the server for sending."
)
_PROBE_UNTRUSTED = N_(
    "A mail server answers at {host} port {port} with {security}, but its certificate is not "
    "trusted ({reason}). Ask your email provider for the right server name, or trust the "
    "certificate after checking its fingerprint."
)
_NOTHING = N_(
    "barua could not find the email settings for {domain}. Ask your email provider for the "
    "SMTP server name, port and security, or choose your provider from the list."
)
_DNS_SILENT = N_(
    "barua could not find the email settings for {domain}: DNS did not answer within {seconds} "
    "seconds. Check this computer's internet connection and DNS server, then try again; or ask "
    "your email provider for the SMTP server name, port and security."
)
_NO_DOMAIN = N_(
    'The domain {domain} does not exist. Did you mean {suggestion}? Check the address "{address}".'
)
_LOOKALIKE = N_(
    "Did you mean {suggestion}? {domain} is another domain that only looks like it, and a "
    "password sent to its servers goes to whoever owns it. barua proposes nothing for {domain} "
    'until you confirm that "{address}" is right.'
)
_LOOKALIKE_QUESTION = N_('Is "{address}" right, not an address at {suggestion}?')
_SIGN_IN = N_(
    "{provider} lets barua send with a sign-in instead of a password: register an app for "
    "your business (the README shows how), then sign in once:"
)

_SECURITY_LABELS = {Security.SSL: "SSL/TLS", Security.STARTTLS: "STARTTLS"}
_SOCKET_TYPES = {"ssl": Security.SSL, "starttls": Security.STARTTLS, "plain": Security.NONE}


def _identity(text: str) -> str:
    return text


@dataclass(frozen=True, kw_only=True)
class Proposal:
    """Settings to propose for an address, where they come from and what was looked at.

    ``values`` are for :func:`~barua.settings.make_settings` (no password); ``explanation`` is
    English marked with ``N_`` and filled from ``explanation_args`` after translation::

        print(gettext(proposal.explanation).format(**proposal.explanation_args))

    After the values a front end shows :meth:`advice_lines`; it offers to save a password
    only when :attr:`accepts_password`, and asks :meth:`confirm_question` before searching
    a look-alike domain (:attr:`needs_confirmation`).
    """

    values: dict[str, Any]
    source: Source
    explanation: str
    explanation_args: dict[str, Any] = field(default_factory=dict)
    preset: Preset | None = None
    tried: list[str] = field(default_factory=list)
    """Each source looked at and its outcome, in order: a technical trace, not translated."""
    lookalike_of: str | None = None
    """The provider domain the address's domain looks like (``gmail.com`` for ``gmial.com``);
    set even after the user confirmed, so that a form can keep the warning in sight."""

    @property
    def needs_confirmation(self) -> bool:
        """True when nothing is proposed until the user confirms a look-alike domain: ask
        :meth:`confirm_question`, then call :func:`detect` with ``confirm_lookalike=True``."""
        return self.source is Source.LOOKALIKE

    @property
    def accepts_password(self) -> bool:
        """False when the provider refuses passwords for SMTP (Outlook.com): there is no
        password to save, and :meth:`advice_lines` says what to do instead."""
        return self.preset is None or self.preset.password_kind is not PasswordKind.OAUTH_REQUIRED

    def explain(self, gettext: Callable[[str], str] = _identity) -> str:
        """The explanation in the language of ``gettext``."""
        return gettext(self.explanation).format(**self.explanation_args)

    def confirm_question(self, gettext: Callable[[str], str] = _identity) -> str | None:
        """The yes/no question that confirms a look-alike domain, or None when none is needed."""
        if not self.needs_confirmation:
            return None
        return gettext(_LOOKALIKE_QUESTION).format(**self.explanation_args)

    def password_advice(self, gettext: Callable[[str], str] = _identity) -> str | None:
        """What goes in the password field (an app password and where to create it, an API
        key, why OAuth is needed), or None when it is the mailbox's normal password."""
        if self.preset is None or not self.values:
            return None
        return password_advice(self.preset, gettext)

    def notes(self, gettext: Callable[[str], str] = _identity) -> list[str]:
        """The provider's notes: sending limits, regional servers, settings to turn on."""
        if self.preset is None or not self.values or not self.preset.notes:
            return []
        return [gettext(self.preset.notes)]

    def sending_limit(self) -> dict[str, int] | None:
        """The provider's documented limits for one account, or None when none is known:
        ``per_day`` (recipients), ``per_minute`` (messages), ``connections`` (at once)."""
        if self.preset is None or not self.values:
            return None
        limits = {
            "per_day": self.preset.daily_limit,
            "per_minute": self.preset.per_minute_limit,
            "connections": self.preset.max_connections,
        }
        found = {name: value for name, value in limits.items() if value is not None}
        return found or None

    @property
    def sign_in(self) -> OAuthProvider | None:
        """Who can sign the user in instead of a password (OAuth), when the provider allows."""
        if self.preset is None or not self.values:
            return None
        return self.preset.oauth

    def sign_in_command(self) -> str | None:
        """The command that signs in instead of a password, or None."""
        if self.sign_in is None:
            return None
        return f"barua settings oauth {self.sign_in.value} --client-id YOUR-APP-ID"

    def advice_lines(self, gettext: Callable[[str], str] = _identity) -> list[str]:
        """What a front end shows after the proposed values, in order: the password advice and
        the provider's notes, then how to sign in instead of a password where the provider
        allows it; for a provider that refuses passwords, its notes and the sign-in."""
        lines: list[str] = []
        if self.values and not self.accepts_password:
            # Instead of the password advice, which would say the same about OAuth.
            lines = self.notes(gettext)
        else:
            advice = self.password_advice(gettext)
            lines = [advice, *self.notes(gettext)] if advice else self.notes(gettext)
        command = self.sign_in_command()
        if command is not None:
            assert self.preset is not None
            lines += [gettext(_SIGN_IN).format(provider=self.preset.name), f"  {command}"]
        return lines

    def to_dict(self, gettext: Callable[[str], str] = _identity) -> dict[str, Any]:
        """A JSON-ready form for the web app and scripts."""
        return {
            "source": str(self.source),
            "values": {k: str(v) if isinstance(v, Security) else v for k, v in self.values.items()},
            "explanation": self.explain(gettext),
            "preset": self.preset.id if self.preset is not None else None,
            "password_advice": self.password_advice(gettext),
            "notes": self.notes(gettext),
            "sending_limit": self.sending_limit(),
            "accepts_password": self.accepts_password,
            "sign_in": self.sign_in.value if self.sign_in is not None else None,
            "sign_in_command": self.sign_in_command(),
            "advice": self.advice_lines(gettext),
            "lookalike_of": self.lookalike_of,
            "needs_confirmation": self.needs_confirmation,
            "confirm_question": self.confirm_question(gettext),
            "tried": list(self.tried),
        }


def detect(
    address: str,
    *,
    resolver: dns.resolver.Resolver | None = None,
    http: httpx.Client | None = None,
    probe_hosts: ProbeHosts | None = None,
    probe_ports: Sequence[int] | Mapping[int, Security] = (465, 587),
    timeout: float = 3.0,
    autoconfig_urls: Sequence[str] | None = None,
    confirm_lookalike: bool = False,
) -> Proposal:
    """Propose SMTP settings for ``address``; raises only for an invalid address.

    ``probe_ports`` maps each port to its security; a plain port number means SSL/TLS for 465
    and STARTTLS for any other. ``probe_hosts`` replaces DNS for the probed names. A domain
    that does not exist (NXDOMAIN) ends the search after the MX lookup.

    A domain one typo away from a provider's (``gmial.com``) is looked up in DNS only, to
    tell whether it exists: its MX, autoconfig and servers are not proposed, nor its web
    server and servers contacted, until the caller passes ``confirm_lookalike=True`` (the
    proposal's :attr:`~Proposal.needs_confirmation`).

    >>> detect("duka@gmail.com").values["host"]
    'smtp.gmail.com'
    """
    mailbox = validate_address(address, field="email_address")
    search = _Search(email=mailbox.address, domain=_ascii(mailbox.domain), timeout=timeout)
    domain = search.domain

    preset = preset_for_domain(domain)
    search.note(f"preset for {domain}: {preset.id if preset else 'none'}")
    if preset is not None:
        return search.from_preset(preset, Source.PRESET, _PRESET, {"address": search.email})

    resolver = resolver or make_resolver(timeout=timeout)
    suggestion = _suggest_domain(domain)
    search.lookalike_of = suggestion
    if suggestion is not None:
        state = "confirmed" if confirm_lookalike else "not confirmed, only its MX is looked up"
        search.note(f"{domain} looks like {suggestion}: {state}")
    mx_hosts, missing = _mx_hosts(resolver, search)
    if suggestion is not None and not confirm_lookalike and not missing:
        # Whoever registered a look-alike gets the password: not even its web server is asked.
        args = {"domain": domain, "suggestion": suggestion, "address": search.email}
        return search.proposal({}, Source.LOOKALIKE, _LOOKALIKE, args)
    for mx in mx_hosts:
        preset = preset_for_mx([mx])
        if preset is not None:
            search.note(f"MX {mx}: {preset.id}")
            return search.from_preset(preset, Source.MX, _MX, {"domain": domain, "mx": mx})
    if mx_hosts:
        search.note(f"MX of {domain}: no known provider")

    if missing:
        # The domain does not exist: no autoconfig or server can be found under it.
        if suggestion is not None:
            args = {"domain": domain, "suggestion": suggestion, "address": search.email}
            return search.nothing(_NO_DOMAIN, args)
        return search.nothing(_NOTHING, {"domain": domain})

    urls = list(autoconfig_urls) if autoconfig_urls is not None else default_autoconfig_urls(domain)
    client = http or httpx.Client(timeout=timeout)
    try:
        for url in urls:
            proposal = _from_autoconfig(client, url, search)
            if proposal is not None:
                return proposal
    finally:
        if http is None:
            client.close()

    if search.dns_silent and probe_hosts is None:
        # The servers' names would not resolve either: say why nothing was found, now.
        return search.nothing(_DNS_SILENT, {"domain": domain, "seconds": f"{timeout:g}"})
    for name in (f"smtp.{domain}", f"mail.{domain}"):
        ip = _probe_address(name, resolver, probe_hosts, timeout)
        if ip is None:
            search.note(f"probe {name}: no address")
            continue
        for port, security in _port_modes(probe_ports):
            if search.probe(name, ip, port, security):
                return search.probe_proposal()
    if search.untrusted is not None:
        return search.probe_proposal()
    return search.nothing(_NOTHING, {"domain": domain})


def default_autoconfig_urls(domain: str) -> list[str]:
    """Where Thunderbird looks for a domain's own autoconfig document, in its order."""
    return [
        f"https://autoconfig.{domain}/mail/config-v1.1.xml",
        f"https://{domain}/.well-known/autoconfig/mail/config-v1.1.xml",
    ]


def _ascii(domain: str) -> str:
    try:
        return domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return domain.lower()


def _security_label(security: Security) -> str:
    return _SECURITY_LABELS.get(security, str(security))


@dataclass
class _Found:
    host: str
    port: int
    security: Security
    reason: str | None = None
    """Why the certificate is not trusted; None when it is."""


@dataclass
class _Search:
    """One detection in progress: the address, and the trace of what was looked at."""

    email: str
    domain: str
    timeout: float
    tried: list[str] = field(default_factory=list)
    found: _Found | None = None
    untrusted: _Found | None = None
    lookalike_of: str | None = None
    dns_silent: bool = False
    """DNS did not answer at all: every later lookup would wait as long for nothing."""

    def note(self, line: str) -> None:
        self.tried.append(line)

    def proposal(
        self,
        values: dict[str, Any],
        source: Source,
        template: str,
        args: dict[str, Any],
        preset: Preset | None = None,
    ) -> Proposal:
        return Proposal(
            values=values,
            source=source,
            explanation=template,
            explanation_args=args,
            preset=preset,
            tried=self.tried,
            lookalike_of=self.lookalike_of,
        )

    def nothing(self, template: str, args: dict[str, Any]) -> Proposal:
        return self.proposal({}, Source.NONE, template, args)

    def from_preset(
        self, preset: Preset, source: Source, template: str, args: dict[str, Any]
    ) -> Proposal:
        args = {
            **args,
            "provider": preset.name,
            "host": preset.host,
            "port": preset.port,
            "security": _security_label(preset.security),
        }
        return self.proposal(preset_settings(preset, self.email), source, template, args, preset)

    def probe(self, name: str, ip: str, port: int, security: Security) -> bool:
        """Probe one server; True when it answered with a trusted certificate."""
        result = _probe(name, ip, port, security, self.timeout)
        where = f"probe {name} ({ip}) port {port} {_security_label(security)}"
        if not result.answered:
            self.note(f"{where}: {result.note}")
            return False
        if result.trusted:
            self.note(f"{where}: answers, certificate trusted")
            self.found = _Found(name, port, security)
            return True
        self.note(f"{where}: answers, certificate not trusted ({result.note})")
        if self.untrusted is None:
            self.untrusted = _Found(name, port, security, result.note)
        return False

    def probe_proposal(self) -> Proposal:
        found = self.found or self.untrusted
        assert found is not None
        args: dict[str, Any] = {
            "host": found.host,
            "port": found.port,
            "security": _security_label(found.security),
        }
        if found.reason is not None:
            args["reason"] = found.reason
        values = {
            "host": found.host,
            "port": found.port,
            "security": found.security,
            "username": self.email,
        }
        template = _PROBE if found.reason is None else _PROBE_UNTRUSTED
        return self.proposal(values, Source.PROBE, template, args)


# MX ------------------------------------------------------------------------------------------


def _mx_hosts(resolver: dns.resolver.Resolver, search: _Search) -> tuple[list[str], bool]:
    """The MX hosts of the domain, best first, and whether the domain does not exist."""
    domain, timeout, tried = search.domain, search.timeout, search.tried
    try:
        answer = resolver.resolve(
            domain, "MX", lifetime=timeout, search=False, raise_on_no_answer=False
        )
    except dns.resolver.NXDOMAIN:
        tried.append(f"MX of {domain}: the domain does not exist")
        return [], True
    except dns.exception.Timeout:
        tried.append(f"MX of {domain}: no answer from DNS within {timeout:g} s")
        search.dns_silent = True
        return [], False
    except dns.resolver.NoNameservers:
        tried.append(f"MX of {domain}: DNS server failure")
        return [], False
    except dns.exception.DNSException as exc:
        tried.append(f"MX of {domain}: DNS error ({type(exc).__name__})")
        return [], False
    records = sorted(answer, key=lambda r: (r.preference, str(r.exchange)))
    # A "null MX" (RFC 7505: preference 0, target ".") means the domain receives no email.
    hosts = [str(r.exchange).rstrip(".").lower() for r in records if str(r.exchange) != "."]
    tried.append(f"MX of {domain}: {', '.join(hosts) if hosts else 'none'}")
    return hosts, False


# Autoconfig ----------------------------------------------------------------------------------


class _UnsafeXML(Exception):
    """The document declares a DTD or entities, which an autoconfig file never needs."""


def parse_autoconfig(document: bytes, address: str) -> list[dict[str, Any]]:
    """Settings values for each ``outgoingServer type="smtp"`` of an autoconfig document.

    Parsed with expat directly: a DOCTYPE or entity declaration is refused, so neither
    external entities nor entity expansion ("billion laughs") can happen. Placeholders
    ``%EMAILADDRESS%``, ``%EMAILLOCALPART%`` and ``%EMAILDOMAIN%`` are filled from
    ``address``. Servers with an unknown socket type are left out; ``plain`` ones are kept
    with security ``none`` for the caller to refuse. Raises ``ValueError`` for a document that
    is not safe, well-formed XML.
    """
    local, _, domain = address.rpartition("@")
    placeholders = {
        "%EMAILADDRESS%": address,
        "%EMAILLOCALPART%": local,
        "%EMAILDOMAIN%": domain,
    }

    def fill(text: str) -> str:
        for name, value in placeholders.items():
            text = text.replace(name, value)
        return text.strip()

    servers: list[dict[str, str]] = []
    path: list[str] = []
    current: dict[str, str] | None = None
    text: list[str] = []

    def start(name: str, attributes: dict[str, str]) -> None:
        nonlocal current
        path.append(name)
        text.clear()
        if name == "outgoingServer" and attributes.get("type") == "smtp":
            current = {}

    def end(name: str) -> None:
        nonlocal current
        path.pop()
        if current is not None:
            if name == "outgoingServer":
                servers.append(current)
                current = None
            elif path and path[-1] == "outgoingServer" and name not in current:
                current[name] = "".join(text)
        text.clear()

    def refuse(*_: object) -> None:
        raise _UnsafeXML

    def refuse_external(
        context: str, base: str | None, system_id: str | None, public_id: str | None
    ) -> int:
        raise _UnsafeXML

    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse_external
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text.append
    try:
        parser.Parse(document, True)
    except _UnsafeXML:
        raise ValueError("the document declares a DTD or entities") from None
    except expat.ExpatError as exc:
        raise ValueError(f"not well-formed XML ({exc})") from None

    proposals: list[dict[str, Any]] = []
    for server in servers:
        security = _SOCKET_TYPES.get(server.get("socketType", "").strip().lower())
        port = server.get("port", "").strip()
        if security is None or not port.isdigit():
            continue
        username = fill(server.get("username", "")) or address
        values: dict[str, Any] = {
            "host": fill(server.get("hostname", "")),
            "port": int(port),
            "security": security,
            "username": username,
        }
        if username != address:
            values["email_address"] = address
        proposals.append(values)
    return proposals


def _fetch(client: httpx.Client, url: str, timeout: float, tried: list[str]) -> bytes | None:
    """The body at ``url``, following redirects on the same host only, at most 1 MB."""
    origin = httpx.URL(url)
    target = origin
    deadline = time.monotonic() + 2 * timeout
    for _ in range(_MAX_REDIRECTS + 1):
        try:
            with client.stream("GET", target, follow_redirects=False) as response:
                if response.is_redirect:
                    location = response.headers.get("location", "")
                    following = response.url.join(location)
                    downgrade = origin.scheme == "https" and following.scheme != "https"
                    if following.host != origin.host or downgrade:
                        tried.append(f"autoconfig {url}: redirect to {following} not followed")
                        return None
                    target = following
                    continue
                if response.status_code != 200:
                    tried.append(f"autoconfig {url}: HTTP {response.status_code}")
                    return None
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > MAX_AUTOCONFIG_BYTES:
                    tried.append(f"autoconfig {url}: larger than 1 MB, not read")
                    return None
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_AUTOCONFIG_BYTES:
                        tried.append(f"autoconfig {url}: larger than 1 MB, not read")
                        return None
                    if time.monotonic() > deadline:
                        tried.append(f"autoconfig {url}: too slow, abandoned")
                        return None
                return bytes(body)
        except httpx.TimeoutException:
            tried.append(f"autoconfig {url}: no answer within {timeout:g} s")
            return None
        except httpx.HTTPError as exc:
            tried.append(f"autoconfig {url}: {type(exc).__name__}")
            return None
    tried.append(f"autoconfig {url}: too many redirects")
    return None


def _from_autoconfig(client: httpx.Client, url: str, search: _Search) -> Proposal | None:
    email, domain, timeout, tried = search.email, search.domain, search.timeout, search.tried
    document = _fetch(client, url, timeout, tried)
    if document is None:
        return None
    try:
        servers = parse_autoconfig(document, email)
    except ValueError as exc:
        tried.append(f"autoconfig {url}: refused, {exc}")
        return None
    for values in servers:
        where = f"{values['host']} port {values['port']} {values['security']}"
        if values["security"] is Security.NONE:
            # barua never sends a password unencrypted, so a plain server is no proposal.
            tried.append(f"autoconfig {url}: {where} skipped, unencrypted")
            continue
        try:
            make_settings(**values)
        except SettingsError as exc:
            tried.append(f"autoconfig {url}: {where} skipped, {exc}")
            continue
        tried.append(f"autoconfig {url}: {where}")
        args = {
            "domain": domain,
            "url": url,
            "host": values["host"],
            "port": values["port"],
            "security": _security_label(values["security"]),
        }
        return search.proposal(values, Source.AUTOCONFIG, _AUTOCONFIG, args)
    if not servers:
        tried.append(f"autoconfig {url}: no SMTP server in the document")
    return None


# Probing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Probe:
    answered: bool
    trusted: bool = False
    note: str = ""


class _ProbeClient(smtplib.SMTP):
    """smtplib connected to ``ip`` while TLS checks the certificate against ``name``."""

    def __init__(
        self, name: str, ip: str, *, implicit_tls: ssl.SSLContext | None, timeout: float
    ) -> None:
        self._ip = ip
        self._implicit_tls = implicit_tls
        # A placeholder: the EHLO name becomes our address literal once connected, which
        # avoids smtplib's getfqdn() (a reverse DNS lookup that can hang).
        super().__init__(local_hostname="localhost", timeout=timeout)
        self._host = name  # the name smtplib's starttls() verifies

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = socket.create_connection((self._ip, port), timeout)
        ip = sock.getsockname()[0]
        self.local_hostname = f"[IPv6:{ip}]" if ":" in ip else f"[{ip}]"
        if self._implicit_tls is None:
            return sock
        try:
            return self._implicit_tls.wrap_socket(sock, server_hostname=host)
        except BaseException:
            sock.close()
            raise


def _probe_once(
    name: str, ip: str, port: int, security: Security, timeout: float, *, verify: bool
) -> _Probe:
    context = make_tls_context(verify=verify)
    implicit = context if security is Security.SSL else None
    client = _ProbeClient(name, ip, implicit_tls=implicit, timeout=timeout)
    try:
        code, _ = client.connect(name, port)
        if code != 220:
            return _Probe(False, note=f"greeting {code}")
        client.ehlo()
        if security is Security.STARTTLS:
            if not client.has_extn("starttls"):
                return _Probe(False, note="STARTTLS not offered")
            client.starttls(context=context)
        return _Probe(True, trusted=verify)
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()


def _probe(name: str, ip: str, port: int, security: Security, timeout: float) -> _Probe:
    try:
        try:
            return _probe_once(name, ip, port, security, timeout, verify=True)
        except ssl.SSLCertVerificationError as exc:
            # TLS works but the certificate is not trusted: say so, and check it is SMTP.
            reason = exc.verify_message or "not trusted"
            found = _probe_once(name, ip, port, security, timeout, verify=False)
            return _Probe(found.answered, trusted=False, note=found.note or reason)
    except ConnectionRefusedError:
        return _Probe(False, note="connection refused")
    except TimeoutError:
        return _Probe(False, note=f"no answer within {timeout:g} s")
    except ssl.SSLError as exc:
        return _Probe(False, note=f"TLS failed ({exc.reason or exc})")
    except smtplib.SMTPException as exc:
        return _Probe(False, note=f"SMTP error ({exc})")
    except OSError as exc:
        return _Probe(False, note=exc.strerror or type(exc).__name__)


def _port_modes(ports: Sequence[int] | Mapping[int, Security]) -> list[tuple[int, Security]]:
    if isinstance(ports, Mapping):
        return list(ports.items())
    return [(port, Security.SSL if port == 465 else Security.STARTTLS) for port in ports]


def _probe_address(
    name: str,
    resolver: dns.resolver.Resolver,
    probe_hosts: ProbeHosts | None,
    timeout: float,
) -> str | None:
    if probe_hosts is not None:
        if isinstance(probe_hosts, Mapping):
            return probe_hosts.get(name)
        return probe_hosts(name)
    for rdtype in ("A", "AAAA"):
        try:
            answer = resolver.resolve(
                name, rdtype, lifetime=timeout, search=False, raise_on_no_answer=False
            )
        except dns.resolver.NXDOMAIN:
            return None
        except dns.exception.DNSException:
            continue
        for record in answer:
            return str(record.address)
    return None
