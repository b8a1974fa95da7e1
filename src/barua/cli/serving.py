"""How barua's servers listen, for ``barua serve`` and ``barua relay serve`` alike.

A server answers over HTTPS itself (``--certfile``/``--keyfile``, TLS 1.2 or newer, the files
read again when a renewed certificate replaces them), or behind a reverse proxy whose
forwarded headers it believes (``--forwarded-allow-ips``), or on a loopback address only:
plain HTTP that other machines could reach is refused before anything starts.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from barua.cli.common import app, bad_input, render
from barua.cli.events import EventLog, LogFormat
from barua.cli.operations import Network, OperationsEndpoints, parse_networks, serve_in_thread
from barua.texts import Message

if TYPE_CHECKING:
    from collections.abc import Callable

    from barua.app import Barua

NOT_LOOPBACK = Message(
    "cli.listen_not_loopback",
    "--host {host} would let other machines reach barua without encryption",
)
NOT_LOOPBACK_HINT = Message(
    "cli.listen_not_loopback_hint",
    "Give --certfile and --keyfile to answer over HTTPS, or name the reverse proxy that adds "
    "HTTPS (Caddy, nginx) with --forwarded-allow-ips, or keep the default --host 127.0.0.1.",
)
KEY_WITHOUT_CERT = Message("cli.keyfile_without_certfile", "--keyfile needs --certfile")
KEY_WITHOUT_CERT_HINT = Message(
    "cli.keyfile_without_certfile_hint",
    "Give the certificate chain (PEM) with --certfile and its private key with --keyfile.",
)
BAD_CERTIFICATE = Message(
    "cli.certificate_unusable", "--certfile {certfile}: the certificate cannot be used: {reason}"
)
BAD_CERTIFICATE_HINT = Message(
    "cli.certificate_unusable_hint",
    "Give the certificate chain (PEM, the server's certificate first) with --certfile and its "
    "private key with --keyfile; both must be readable by the user barua runs as.",
)
NOT_AN_ADDRESS = Message(
    "cli.forwarded_not_an_address",
    '--forwarded-allow-ips: "{value}" is not an IP address or network',
)
NOT_AN_ADDRESS_HINT = Message(
    "cli.forwarded_not_an_address_hint",
    "Give the addresses of your reverse proxies, separated by commas: "
    "127.0.0.1,10.0.0.5 or 10.0.0.0/24.",
)
METRICS_NOT_A_NETWORK = Message(
    "cli.metrics_from_not_a_network",
    '--metrics-from "{value}" is not a list of IP addresses or networks',
)
METRICS_NOT_A_NETWORK_HINT = Message(
    "cli.metrics_from_not_a_network_hint",
    "Give the addresses of your Prometheus servers, separated by commas: 10.0.0.9 or 10.0.0.0/24.",
)
HEALTH_PORT_BUSY = Message(
    "cli.health_port_unusable", "--health-port {port}: cannot listen on it: {reason}"
)
HEALTH_PORT_BUSY_HINT = Message(
    "cli.health_port_unusable_hint",
    "Choose a port no other program uses (each worker on a machine needs its own).",
)
CERTIFICATE_NOT_RELOADED = Message(
    "cli.certificate_not_reloaded",
    "the certificate in {certfile} changed but cannot be used ({reason}); "
    "new connections still get the previous one",
)

CertFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--certfile",
        metavar="FILE",
        help="Answer over HTTPS with this certificate chain (PEM); a renewed certificate is "
        "read again for new connections, without a restart.",
    ),
]
KeyFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--keyfile",
        metavar="FILE",
        help="The private key of --certfile (PEM), when it is not in the same file.",
    ),
]
ForwardedOpt = Annotated[
    str | None,
    typer.Option(
        "--forwarded-allow-ips",
        metavar="ADDRESSES",
        help="The reverse proxies (addresses or networks, separated by commas) whose "
        "X-Forwarded-* headers (the client's address, https) are believed (default: loopback "
        "only).",
    ),
]
MetricsFromOpt = Annotated[
    str | None,
    typer.Option(
        "--metrics-from",
        metavar="ADDRESSES",
        help="Who may read /metrics besides loopback: addresses or networks, separated by commas.",
    ),
]

AccessLogOpt = Annotated[
    bool,
    typer.Option(
        "--access-log",
        help="Write one event per request: the client's address, the method, the path, the "
        "status and the time taken (never the query string).",
    ),
]

_LOOPBACK_PROXIES = ("127.0.0.1", "::1")


def is_loopback(host: str) -> bool:
    """True when ``host`` is an address (or ``localhost``) only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _stamp(*paths: Path) -> tuple[tuple[int, int, int], ...]:
    found = []
    for path in paths:
        try:
            status = path.stat()
        except OSError:
            found.append((0, 0, 0))
        else:
            found.append((status.st_ino, status.st_mtime_ns, status.st_size))
    return tuple(found)


class ReloadingTLS(ssl.SSLContext):
    """A server's TLS context that reads its certificate chain again when the files change.

    Each new connection looks at the files (a ``stat`` of each); when they changed since they
    were last read, a new context is made from them and serves that connection and the next
    ones, while connections already open keep theirs. A renewed certificate is thus used
    without a restart. Files caught half-written (a new certificate beside the old key) are
    reported once and the previous certificate goes on serving until they change again.
    """

    def __new__(cls, certfile: Path, keyfile: Path | None = None) -> ReloadingTLS:
        return super().__new__(cls, ssl.PROTOCOL_TLS_SERVER)

    def __init__(self, certfile: Path, keyfile: Path | None = None) -> None:
        super().__init__()
        self.certfile = certfile
        self.keyfile = keyfile
        self.minimum_version = ssl.TLSVersion.TLSv1_2
        self._lock = threading.Lock()
        self._seen = _stamp(*self._files())
        self._current = self.load()  # raises ssl.SSLError / OSError for unusable files
        self.on_reload_failure: Callable[[str], None] = lambda _reason: None

    def _files(self) -> tuple[Path, ...]:
        return (self.certfile,) if self.keyfile is None else (self.certfile, self.keyfile)

    def load(self) -> ssl.SSLContext:
        """A new server context from the files as they are now: TLS 1.2 or newer, HTTP/1.1."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_alpn_protocols(["http/1.1"])
        context.load_cert_chain(self.certfile, self.keyfile)
        return context

    def current(self) -> ssl.SSLContext:
        """The context for a new connection, read again first if the files changed."""
        stamp = _stamp(*self._files())
        if stamp == self._seen:
            return self._current
        with self._lock:
            if stamp != self._seen:
                self._seen = stamp
                try:
                    self._current = self.load()
                except (OSError, ssl.SSLError) as exc:
                    self.on_reload_failure(str(exc))
        return self._current

    # asyncio (and so uvicorn) makes each server-side connection with wrap_bio.
    def wrap_bio(
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        return self.current().wrap_bio(
            incoming,
            outgoing,
            server_side=server_side,
            server_hostname=server_hostname,
            session=session,
        )

    def wrap_socket(self, sock: Any, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        return self.current().wrap_socket(sock, *args, **kwargs)


@dataclass(frozen=True)
class Listening:
    """Where and how a server listens, checked before it starts."""

    host: str
    port: int
    tls: ReloadingTLS | None = None
    forwarded_allow_ips: tuple[str, ...] = ()
    metrics_from: tuple[Network, ...] = ()
    log: EventLog = field(default_factory=EventLog)
    access_log: bool = False

    @property
    def behind_https(self) -> bool:
        """Whether people reach the server over HTTPS: its own, or a trusted proxy's."""
        return self.tls is not None or bool(self.forwarded_allow_ips)

    def url(self, path: str = "/", *, localhost: bool = False) -> str:
        """The address to show people; with ``localhost``, 127.0.0.1 shows as localhost."""
        shown = "localhost" if localhost and self.host == "127.0.0.1" else self.host
        if ":" in shown and not shown.startswith("["):
            shown = f"[{shown}]"
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{shown}:{self.port}{path}"


def listening(
    host: str,
    port: int,
    *,
    certfile: Path | None,
    keyfile: Path | None,
    forwarded_allow_ips: str | None,
    metrics_from: str | None = None,
    log_format: LogFormat = LogFormat.TEXT,
    access_log: bool = False,
) -> Listening:
    """The choices of the command line, checked: one clear error for each mistake."""
    proxies: list[str] = []
    for item in (forwarded_allow_ips or "").split(","):
        value = item.strip()
        if not value:
            continue
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise bad_input(NOT_AN_ADDRESS(value=value), NOT_AN_ADDRESS_HINT()) from None
        proxies.append(value)
    networks = parse_networks(metrics_from)
    if networks is None:
        raise bad_input(METRICS_NOT_A_NETWORK(value=metrics_from), METRICS_NOT_A_NETWORK_HINT())
    if keyfile is not None and certfile is None:
        raise bad_input(KEY_WITHOUT_CERT(), KEY_WITHOUT_CERT_HINT())
    tls = None
    if certfile is not None:
        try:
            tls = ReloadingTLS(certfile, keyfile)
        except (OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or str(exc)
            raise bad_input(
                BAD_CERTIFICATE(certfile=str(certfile), reason=str(reason)),
                BAD_CERTIFICATE_HINT(),
            ) from None
    if not is_loopback(host) and tls is None and not proxies:
        raise bad_input(NOT_LOOPBACK(host=host), NOT_LOOPBACK_HINT())
    return Listening(
        host, port, tls, tuple(proxies), networks, EventLog(log_format), access_log=access_log
    )


def run(
    asgi: Any,
    where: Listening,
    *,
    barua: Barua,
    relay: bool = False,
    sockets: list[socket.socket] | None = None,
    **options: Any,
) -> None:
    """Serve ``asgi`` with uvicorn as ``where`` says, behind ``/healthz``, ``/readyz`` and
    ``/metrics``, until SIGINT or SIGTERM; on ``sockets`` when given (already listening)."""
    import uvicorn

    tls = where.tls
    if tls is not None:
        tls.on_reload_failure = lambda reason: where.log(
            "certificate_not_reloaded",
            render(CERTIFICATE_NOT_RELOADED(certfile=str(tls.certfile), reason=reason)),
            level="warning",
            certfile=str(tls.certfile),
        )
    endpoints = OperationsEndpoints(
        asgi,
        barua,
        metrics_from=where.metrics_from,
        count_relay_answers=relay,
        access_log=where.log if where.access_log else None,
    )
    sys.stdout.flush()
    config = uvicorn.Config(
        endpoints,
        host=where.host,
        port=where.port,
        log_level="warning",
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=list(where.forwarded_allow_ips or _LOOPBACK_PROXIES),
        ssl_context_factory=(None if tls is None else lambda _config, _default: tls),
        **options,
    )
    uvicorn.Server(config).run(sockets=sockets)


def start_health(port: int | None, *, metrics_from: str | None) -> Callable[[], None]:
    """``/healthz``, ``/readyz`` and ``/metrics`` on ``port`` in a thread of this process (on
    127.0.0.1, or every address when ``metrics_from`` names other machines); the function
    that stops them. Nothing without a port."""
    if port is None:
        return lambda: None

    networks = parse_networks(metrics_from)
    if networks is None:
        raise bad_input(METRICS_NOT_A_NETWORK(value=metrics_from), METRICS_NOT_A_NETWORK_HINT())
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("0.0.0.0" if networks else "127.0.0.1", port))  # noqa: S104
        listener.listen(64)
    except OSError as exc:
        listener.close()
        raise bad_input(
            HEALTH_PORT_BUSY(port=port, reason=exc.strerror or str(exc)), HEALTH_PORT_BUSY_HINT()
        ) from None
    endpoints = OperationsEndpoints(None, app(), metrics_from=networks)
    return serve_in_thread(endpoints, listener)
