"""Every error the transports raise is a declared code with a declared hint, never words
written on the spot; a hint a transport gives from its cause is the advice's fix, word for word."""

from __future__ import annotations

import ast
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import barua.errors
from barua.errors import (
    AuthenticationError,
    BaruaError,
    Cause,
    ConnectError,
    PermanentError,
    RecipientRefused,
    Step,
    TimeoutError,
    TLSError,
    TransportError,
)
from barua.settings import make_settings
from barua.setup.advice import advise
from barua.texts import Message, declared
from barua.transports import causes, messages
from barua.transports.causes import explain, fix_for
from barua.transports.smtp import SmtpTransport
from tests import test_transport_http as http_tests
from tests import test_transport_smtp as smtp_tests
from tests.conftest import PASSWORD, USER
from tests.smtpd import SmtpServer

TRANSPORTS = Path(barua.errors.__file__).parent / "transports"
PREFIXES = ("smtp.", "http.", "transport.")
# What the advice fills a cause's summary and fix with (barua.setup.advice.advise).
ADVICE_VALUES = {
    "host",
    "port",
    "recipient",
    "sender",
    "issuer",
    "expiry",
    "names",
    "provider",
    "provider_id",
    "account",
}


def transport_messages() -> Iterator[Message]:
    for value in vars(messages).values():
        if isinstance(value, Message):
            yield value
    explanations = [*causes.GENERAL.values(), *causes.HTTP.values()]
    explanations += [causes.STARTTLS_REQUIRED, causes.NO_GREETING]
    for explanation in explanations:
        yield from explanation


def assert_coded(error: BaseException) -> None:
    """``error`` is a transport's error whose message and hint are declared codes, and which
    reads in every language without a placeholder left over."""
    assert isinstance(error, TransportError)
    assert error.error_code.startswith(PREFIXES), error.error_code
    assert declared()[error.error_code].template == error.text.template
    assert error.hint_text is not None, error.error_code
    assert declared()[error.hint_text.code].template == error.hint_text.template
    for lang in ("en", "sw"):
        assert "{" not in error.render(lang) + (error.render_hint(lang) or "")


# The declarations ------------------------------------------------------------------------------


def test_every_text_of_the_transports_is_declared_once_with_a_transport_code() -> None:
    codes = [message.code for message in transport_messages()]
    assert len(codes) == len(set(codes))
    for message in transport_messages():
        assert message.code.startswith(PREFIXES), message.code
        assert declared()[message.code] is message


def test_every_cause_has_a_summary_and_a_fix_for_each_transport() -> None:
    for cause in Cause:
        for is_http in (False, True):
            summary, fix = explain(cause, http=is_http)
            assert summary.fields <= ADVICE_VALUES, summary.code
            # What a transport fills a fix with: the sender, and a sign-in's provider, its id
            # (for the command) and account.
            assert fix.fields <= {"sender", "provider", "provider_id", "account"}, fix.code
            hint = fix_for(
                cause,
                http=is_http,
                sender="duka@example.com",
                provider="Microsoft",
                provider_id="microsoft",
                account="duka@example.com",
            )
            assert hint.code == fix.code
            assert "{" not in hint.render("sw")


def _words_on_the_spot(node: ast.expr) -> bool:
    """Whether ``node`` makes a sentence in place: a string, an f-string, a concatenation."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return _words_on_the_spot(node.left) or _words_on_the_spot(node.right)
    if isinstance(node, ast.IfExp):
        return _words_on_the_spot(node.body) or _words_on_the_spot(node.orelse)
    if isinstance(node, ast.Dict):  # SettingsError's problems
        return any(_words_on_the_spot(value) for value in node.values)
    return False


def test_no_transport_writes_the_words_of_an_error_on_the_spot() -> None:
    errors = {
        name
        for name, value in vars(barua.errors).items()
        if isinstance(value, type) and issubclass(value, BaruaError)
    }
    found: list[str] = []
    for path in sorted(TRANSPORTS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id in errors:
                words = node.args[:1]
            elif isinstance(func, ast.Attribute) and func.attr == "_error":
                words = node.args[1:2]  # self._error(cls, message, ...)
            else:
                continue
            words += [k.value for k in node.keywords if k.arg in ("hint", "message")]
            if any(_words_on_the_spot(word) for word in words):
                found.append(f"{path.name}:{node.lineno}")
    assert found == []


# Real failures, against the test servers -------------------------------------------------------


def _refusing_port() -> int:
    with socket.socket() as probe:  # bound, never listening: refuses
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _smtp_failure(settings: Any, **message: Any) -> TransportError:
    with pytest.raises(TransportError) as caught, SmtpTransport(settings) as transport:
        transport.send(smtp_tests.invoice(settings, **message))
    return caught.value


def test_a_refused_smtp_connection_carries_codes_and_the_advices_fix() -> None:
    settings = make_settings(host="127.0.0.1", port=_refusing_port(), username=USER)
    error = _smtp_failure(settings)
    assert type(error) is ConnectError
    assert_coded(error)
    assert (error.error_code, error.text.params) == (
        "transport.refused",
        {"host": "127.0.0.1", "port": settings.port},
    )
    # One table: what the transport says to do is what the advice says, in every language.
    for lang in ("en", "sw"):
        assert advise(error, settings, lang).fix == error.render_hint(lang)


@pytest.mark.usefixtures("trust_ca")
def test_a_refused_login_carries_codes_and_the_advices_fix(ssl_server: SmtpServer) -> None:
    settings = smtp_tests.settings_for(ssl_server, password="wrong")
    error = _smtp_failure(settings)
    assert type(error) is AuthenticationError
    assert_coded(error)
    assert error.error_code == "smtp.login_refused"
    assert error.hint_text == causes.GENERAL[Cause.AUTH_REFUSED].fix()
    assert advise(error, settings, "sw").fix == error.render_hint("sw")


@pytest.mark.usefixtures("trust_ca")
@pytest.mark.parametrize(
    ("faults", "kind", "code"),
    [
        ({"MAIL": "553 5.7.1 Sender address rejected: not owned by user"}, PermanentError,
         "smtp.sender_refused"),
        ({"DATA": "554 5.7.1 Spam detected"}, PermanentError, "smtp.refused_message"),
        ({"DATA": "451 4.3.0 Local error"}, TransportError, "smtp.try_later"),
        ({"CONNECT": "421 4.7.0 Too many connections"}, TransportError, "smtp.not_accepting"),
        ({"DATA": "DROP"}, TransportError, "smtp.not_confirmed"),
    ],
)  # fmt: skip
def test_smtp_replies_and_drops_carry_codes(
    certs: Any, faults: dict[str, str], kind: type[TransportError], code: str
) -> None:
    with SmtpServer(mode="ssl", certs=certs, users={USER: PASSWORD}, faults=faults) as server:
        error = _smtp_failure(smtp_tests.settings_for(server))
    assert isinstance(error, kind)
    assert_coded(error)
    assert error.error_code == code


@pytest.mark.usefixtures("trust_ca")
def test_a_refused_sender_is_named_in_the_hint(certs: Any) -> None:
    faults = {"MAIL": "553 5.7.1 Sender address rejected: not owned by user"}
    with SmtpServer(mode="ssl", certs=certs, users={USER: PASSWORD}, faults=faults) as server:
        settings = smtp_tests.settings_for(server)
        error = _smtp_failure(settings)
    assert error.cause is Cause.SENDER_REFUSED
    assert error.hint_text is not None and error.hint_text.params == {"sender": USER}
    assert advise(error, settings, "en").fix == error.hint


@pytest.mark.usefixtures("trust_ca")
def test_every_recipient_refused_carries_codes(ssl_server: SmtpServer) -> None:
    ssl_server.recorder.refuse_recipients["gone@example.com"] = "550 5.1.1 User unknown"
    settings = smtp_tests.settings_for(ssl_server)
    error = _smtp_failure(settings, to=["gone@example.com"])
    assert type(error) is RecipientRefused
    assert_coded(error)
    assert error.text.params == {"refusals": "gone@example.com (550 5.1.1 User unknown)"}
    assert error.hint_text == causes.GENERAL[Cause.RECIPIENT_REFUSED].fix()


def test_certificate_and_tls_failures_carry_codes(
    ssl_server: SmtpServer, starttls_server: SmtpServer
) -> None:
    untrusted = _smtp_failure(smtp_tests.settings_for(ssl_server))
    assert type(untrusted) is TLSError
    assert_coded(untrusted)
    assert untrusted.error_code == "transport.certificate_not_trusted"
    assert untrusted.text.params["reason"] == "unable to get local issuer certificate"

    implicit = _smtp_failure(smtp_tests.settings_for(starttls_server, security="ssl"))
    assert_coded(implicit)
    assert (implicit.error_code, implicit.cause) == ("smtp.no_implicit_tls", Cause.EXPECTS_STARTTLS)


def test_a_port_that_never_greets_carries_codes(silent_port: int) -> None:
    settings = make_settings(
        host="127.0.0.1", port=silent_port, security="starttls", username=USER, timeout=0.3
    )
    error = _smtp_failure(settings)
    assert type(error) is TimeoutError
    assert_coded(error)
    assert (error.error_code, error.step) == ("smtp.no_greeting", Step.GREETING)
    assert error.text.params == {"host": "127.0.0.1", "port": silent_port, "timeout": 0.3}
    assert error.message == f"127.0.0.1 port {silent_port} sent no greeting within 0.3 seconds"


@pytest.mark.parametrize(
    "answer", [pytest.param(case.values[0], id=case.id) for case in http_tests.ERROR_CASES]
)
def test_every_answer_of_an_email_service_carries_codes(answer: Any) -> None:
    with http_tests.Service() as service:
        service.script = [answer]
        settings = http_tests.settings_for(service.url)
        error, _ = http_tests.send_failing(settings, http_tests.invoice(settings))
    assert_coded(error)
    assert error.error_code.startswith("http.")


def test_http_connection_failures_carry_codes_and_the_advices_fix() -> None:
    settings = http_tests.settings_for(f"http://127.0.0.1:{_refusing_port()}")
    error, _ = http_tests.send_failing(settings, http_tests.invoice(settings))
    assert type(error) is ConnectError
    assert_coded(error)
    assert error.error_code == "transport.refused"
    assert error.hint_text == causes.HTTP[Cause.CONNECTION_REFUSED].fix()
    for lang in ("en", "sw"):
        assert advise(error, settings, lang).fix == error.render_hint(lang)

    with http_tests.Service() as service:
        settings = http_tests.settings_for(f"https://127.0.0.1:{service.port}")
        error, _ = http_tests.send_failing(settings, http_tests.invoice(settings))
    assert type(error) is TLSError
    assert_coded(error)
    assert error.error_code == "transport.handshake_failed"
