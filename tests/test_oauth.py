"""Signing in with the provider instead of a password (OAuth 2.0, SASL XOAUTH2), against a real
authorization server and an SMTP server on loopback that take tokens only."""

from __future__ import annotations

import base64
import email
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from email import policy
from pathlib import Path

import httpx
import pytest

from barua.app import Barua, Environment
from barua.errors import AuthenticationError, Cause, SenderRefused
from barua.message import OutgoingMessage, build_message
from barua.settings import Settings, make_settings
from barua.setup.advice import advise
from barua.transports.oauth import AccessToken
from barua.transports.smtp import SmtpTransport
from tests.oauth_server import CLIENT_ID, CLIENT_SECRET, OAuthServer
from tests.smtpd import SmtpServer, TokenRecorder

BARUA = str(Path(sys.executable).with_name("barua"))
ACCOUNT = "duka@example.com"


def barua(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BARUA, *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def endpoints(server: OAuthServer) -> list[str]:
    return [
        "--token-url", server.endpoint("/token"),
        "--device-url", server.endpoint("/devicecode"),
        "--authorization-url", server.endpoint("/authorize"),
    ]  # fmt: skip


@pytest.fixture
def provider() -> Iterator[OAuthServer]:
    with OAuthServer(account=ACCOUNT) as server:
        yield server


@pytest.fixture
def smtp(provider: OAuthServer) -> Iterator[SmtpServer]:
    with SmtpServer(mode="plain", tokens=provider.check) as server:
        yield server


def sign_in_with_microsoft(provider: OAuthServer, *extra: str) -> subprocess.CompletedProcess[str]:
    """``barua settings oauth microsoft``, approving the code it shows as the user would."""
    proc = subprocess.Popen(
        [BARUA, "settings", "oauth", "microsoft", "--client-id", CLIENT_ID,
         *endpoints(provider), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    first = proc.stdout.readline()
    found = re.search(r"open (\S+) and enter the code (\S+)", first)
    assert found, first + (proc.stderr.read() if proc.stderr else "")
    assert found.group(1) == provider.endpoint("/devicelogin")
    # A poll or two answered "authorization_pending" first, as while a person types the code.
    deadline = time.monotonic() + 20
    while len(device_polls(provider)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    provider.approve(found.group(2))
    out, err = finish(proc)
    return subprocess.CompletedProcess(proc.args, proc.returncode, first + out, err)


def finish(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """The rest of a command's output once it ended. (``communicate`` would skip what a
    ``readline`` before it had buffered.)"""
    assert proc.stdout is not None and proc.stderr is not None
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.wait(timeout=30)
    return out, err


def device_polls(provider: OAuthServer) -> list[dict[str, str]]:
    with provider.recorder.lock:
        return [r for r in provider.recorder.token_requests if "device_code" in r]


def use_local_smtp(smtp: SmtpServer) -> None:
    proc = barua(
        "settings", "set", "--host", "127.0.0.1", "--port", str(smtp.port), "--security", "none"
    )
    assert proc.returncode == 0, proc.stderr


def subjects(server: SmtpServer) -> list[str]:
    parsed = (email.message_from_bytes(m.data, policy=policy.default) for m in server.messages)
    return [str(message["Subject"]) for message in parsed]


# Signing in ------------------------------------------------------------------------------------


def test_microsoft_sign_in_with_a_device_code_then_mail_goes_with_the_token(
    provider: OAuthServer, smtp: SmtpServer
) -> None:
    signed = sign_in_with_microsoft(provider)
    assert signed.returncode == 0, signed.stderr
    assert signed.stdout.splitlines()[1:] == [
        "Waiting for the sign-in…",
        f"Signed in as {ACCOUNT}. Mail now goes through smtp.office365.com port 587 with the "
        "sign-in; no password is kept.",
    ]
    assert len(device_polls(provider)) >= 3, "polled until approved"
    shown = json.loads(barua("settings", "show", "--json").stdout)
    assert (shown["auth"], shown["oauth_provider"], shown["username"]) == (
        "oauth",
        "microsoft",
        ACCOUNT,
    )
    assert (shown["host"], shown["port"], shown["security"]) == (
        "smtp.office365.com",
        587,
        "starttls",
    )
    assert shown["password_set"] is False and shown["sign_in"]["account"] == ACCOUNT
    text = barua("settings", "show").stdout
    assert re.search(
        rf"sign-in\s+signed in as {ACCOUNT} with Microsoft \(OAuth\), token valid until "
        r"\d{4}-\d\d-\d\d \d\d:\d\d UTC",
        text,
    )

    use_local_smtp(smtp)
    sent = barua("send", "--to", "mteja@example.com", "--subject", "Ankara", "--body", "Habari")
    assert sent.returncode == 0, sent.stderr
    assert subjects(smtp) == ["Ankara"]
    assert isinstance(smtp.recorder, TokenRecorder)
    assert smtp.recorder.token_logins == [("XOAUTH2", ACCOUNT)]
    tested = barua("test", "--to", "me@example.com")
    assert tested.returncode == 0, tested.stderr
    [login] = [line for line in tested.stdout.splitlines() if "log in" in line]
    assert login.startswith("✓ log in") and login.endswith("235 2.7.0 Authentication successful")
    assert smtp.recorder.token_logins == [("XOAUTH2", ACCOUNT)] * 2


def google_sign_in(provider: OAuthServer, check: bool = False) -> subprocess.CompletedProcess[str]:
    """``barua settings oauth google``, its page visited by a scripted browser."""
    proc = subprocess.Popen(
        [BARUA, "settings", "oauth", "google", "--client-id", CLIENT_ID, "--client-secret-stdin",
         "--no-browser", *endpoints(provider)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(CLIENT_SECRET + "\n")
    proc.stdin.close()
    first = proc.stdout.readline()
    url = proc.stdout.readline().strip()
    back = httpx.get(url, follow_redirects=False)
    httpx.get(back.headers["location"])
    out, err = finish(proc)
    return subprocess.CompletedProcess(proc.args, proc.returncode, first + url + "\n" + out, err)


def test_google_sign_in_in_a_browser_with_pkce_and_state(
    provider: OAuthServer, smtp: SmtpServer
) -> None:
    proc = subprocess.Popen(
        [BARUA, "settings", "oauth", "google", "--client-id", CLIENT_ID, "--client-secret-stdin",
         "--no-browser", *endpoints(provider)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(CLIENT_SECRET + "\n")
    proc.stdin.close()
    assert proc.stdout.readline().startswith("Sign in at this address")
    url = proc.stdout.readline().strip()
    query = dict(httpx.URL(url).params)
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["access_type"] == "offline" and query["redirect_uri"].startswith(
        "http://127.0.0.1:"
    )
    # The browser: the provider's page signs in and sends it back to barua's listener.
    back = httpx.get(url, follow_redirects=False)
    assert back.status_code == 302
    page = httpx.get(back.headers["location"])
    assert "you are signed in" in page.text
    out, err = finish(proc)
    assert proc.returncode == 0, err
    assert f"Signed in as {ACCOUNT}. Mail now goes through smtp.gmail.com port 465" in out
    exchange = [r for r in provider.recorder.token_requests if r["grant_type"] != "refresh_token"]
    assert exchange[-1]["code_verifier"] and exchange[-1]["client_secret"] == CLIENT_SECRET

    use_local_smtp(smtp)
    sent = barua("send", "--to", "mteja@example.com", "--subject", "Invoice", "--body", "Hi")
    assert sent.returncode == 0, sent.stderr
    assert subjects(smtp) == ["Invoice"]


def browser_sign_in(provider: OAuthServer, tamper: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.Popen(
        [BARUA, "settings", "oauth", "custom", "--issuer", provider.issuer, "--client-id",
         CLIENT_ID, "--client-secret-stdin", "--no-browser", "--host", "127.0.0.1",
         "--port", "2525", "--security", "none"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(CLIENT_SECRET + "\n")
    proc.stdin.close()
    proc.stdout.readline()
    url = httpx.URL(proc.stdout.readline().strip())
    if tamper == "challenge":
        url = url.copy_set_param("code_challenge", "A" * 43)
    back = httpx.get(url, follow_redirects=False)
    location = httpx.URL(back.headers["location"])
    if tamper == "state":
        location = location.copy_set_param("state", "someone-elses")
    httpx.get(location)
    out, err = finish(proc)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_a_custom_provider_found_by_its_issuer_signs_in_in_a_browser(
    provider: OAuthServer,
) -> None:
    # The test server has a device endpoint too: without one, the browser is the way.
    provider.with_device = False
    done = browser_sign_in(provider, tamper="")
    assert done.returncode == 0, done.stderr
    assert f"Signed in as {ACCOUNT}." in done.stdout


@pytest.mark.parametrize(
    ("tamper", "first_line"),
    [
        (
            "state",
            "error (log in): the browser came back with an answer to another sign-in (its "
            "state does not match)",
        ),
        (
            "challenge",
            "error (log in): the provider no longer accepts the sign-in (invalid_grant)",
        ),
    ],
)
def test_an_answer_to_another_sign_in_is_refused(
    provider: OAuthServer, tamper: str, first_line: str
) -> None:
    provider.with_device = False
    done = browser_sign_in(provider, tamper=tamper)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[0] == first_line
    assert json.loads(barua("settings", "show", "--json").stdout or "{}").get("auth") != "oauth"


def test_a_refused_device_sign_in_says_so_and_saves_nothing(provider: OAuthServer) -> None:
    proc = subprocess.Popen(
        [BARUA, "settings", "oauth", "microsoft", "--client-id", CLIENT_ID, *endpoints(provider)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    code = re.search(r"the code (\S+)", proc.stdout.readline())
    assert code
    provider.deny(code.group(1))
    _, err = finish(proc)
    assert proc.returncode == 1
    assert err.splitlines()[0] == "error (log in): the sign-in was refused at the provider's page"
    assert barua("settings", "show").returncode == 2, "nothing saved"


# Tokens renew themselves -----------------------------------------------------------------------


def queue(subject: str) -> None:
    proc = barua(
        "send", "--queue", "--to", "mteja@example.com", "--subject", subject, "--body", "x"
    )
    assert proc.returncode == 0, proc.stderr


def test_the_worker_renews_a_token_before_it_expires_and_keeps_the_rotated_one(
    provider: OAuthServer, smtp: SmtpServer
) -> None:
    provider.lifetime = 120  # less than the five minutes before the end when barua renews
    assert sign_in_with_microsoft(provider).returncode == 0
    use_local_smtp(smtp)
    first_refresh = provider.live_refresh_tokens()
    queue("After the expiry")
    worked = barua("worker", "--once")
    assert worked.returncode == 0, worked.stderr
    assert subjects(smtp) == ["After the expiry"]
    assert provider.recorder.refreshes == 1
    assert isinstance(smtp.recorder, TokenRecorder)
    assert smtp.recorder.token_logins == [("XOAUTH2", ACCOUNT)], "renewed before, not refused"
    assert provider.live_refresh_tokens() != first_refresh, "rotated"
    # The rotated refresh token was kept: the next renewal works too.
    queue("Once more")
    assert barua("worker", "--once").returncode == 0
    assert subjects(smtp) == ["After the expiry", "Once more"]
    assert provider.recorder.refreshes == 2


def test_a_token_refused_by_the_server_is_renewed_once_and_sent_again(
    provider: OAuthServer, smtp: SmtpServer
) -> None:
    assert sign_in_with_microsoft(provider).returncode == 0
    use_local_smtp(smtp)
    provider.access.clear()  # revoked at the server, though not yet expired for barua
    sent = barua("send", "--to", "mteja@example.com", "--subject", "Hi", "--body", "x")
    assert sent.returncode == 0, sent.stderr
    assert provider.recorder.refreshes == 1
    assert isinstance(smtp.recorder, TokenRecorder)
    assert smtp.recorder.token_logins == [("XOAUTH2", ACCOUNT)] * 2


@pytest.mark.parametrize(
    ("break_it", "summary", "hint"),
    [
        (
            "revoke",
            f"error (log in): Microsoft no longer accepts the sign-in of {ACCOUNT}",
            "hint: Sign in again: barua settings oauth microsoft. A sign-in ends when it is "
            "revoked, when the password changes, or after a long time unused; the mail waits in "
            "the outbox until then.",
        ),
        (
            "consent",
            "error (log in): Microsoft wants consent for the app before it lets it send mail",
            "hint: Sign in again and accept what the app asks for; if your organisation requires "
            "it, ask an administrator to grant consent for the app (Microsoft Entra admin center "
            "→ Enterprise applications → the app → Permissions).",
        ),
    ],
)
def test_a_dead_sign_in_pauses_the_business_until_it_signs_in_again(
    provider: OAuthServer, smtp: SmtpServer, break_it: str, summary: str, hint: str
) -> None:
    assert sign_in_with_microsoft(provider).returncode == 0
    use_local_smtp(smtp)
    provider.expire_access_tokens()
    if break_it == "revoke":
        provider.revoke_all()
    else:
        provider.refuse_with = "consent_required"
    queue("Waits")
    worked = barua("worker", "--once")
    assert worked.returncode == 1
    assert 'delivery for "default" is paused' in worked.stderr
    assert smtp.messages == []
    sent = barua("send", "--to", "mteja@example.com", "--subject", "Now", "--body", "x")
    assert sent.returncode == 1
    assert sent.stderr.splitlines()[-2:] == [summary, hint]
    listed = json.loads(barua("outbox", "list", "--json").stdout)
    assert [e["status"] in {"queued", "deferred"} for e in listed["entries"]] == [True, True]

    provider.refuse_with = None  # the administrator granted consent
    assert sign_in_with_microsoft(provider).returncode == 0  # the pause lifts by itself
    worked = barua("worker", "--once")
    assert worked.returncode == 0, worked.stderr
    assert sorted(subjects(smtp)) == ["Now", "Waits"]


def test_two_workers_renewing_at_once_renew_once_and_share_the_result(
    provider: OAuthServer, barua_home: Path
) -> None:
    provider.lifetime = 60  # due for renewal at once (barua renews 5 minutes before the end)
    assert sign_in_with_microsoft(provider).returncode == 0
    provider.refresh_delay = 0.5  # both ask while the first renewal is under way
    tokens: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def renew() -> None:
        with Barua(Environment.from_environ()) as app:
            shop = app.business()
            settings = app.settings_in_effect(shop)
            source = app.tokens(shop, settings)
            assert source is not None
            start.wait()
            try:
                tokens.append(source.access_token().token)
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=renew) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert provider.recorder.refreshes == 1, "one renewal for both"
    assert len(tokens) == 2 and tokens[0] == tokens[1]
    assert provider.check(ACCOUNT, tokens[0])


def test_without_a_sign_in_the_settings_say_to_sign_in(barua_home: Path) -> None:
    with Barua(Environment.from_environ()) as app:
        shop = app.business()
        app.save_settings(
            shop,
            {
                "host": "127.0.0.1",
                "port": 2525,
                "username": ACCOUNT,
                "auth": "oauth",
                "oauth_provider": "microsoft",
                "oauth_client_id": CLIENT_ID,
            },
        )
        source = app.tokens(shop, app.settings_in_effect(shop))
        assert source is not None
        with pytest.raises(AuthenticationError) as caught:
            source.access_token()
    assert caught.value.cause is Cause.SIGN_IN_NEEDED
    assert str(caught.value) == "nobody has signed in with Microsoft for these settings"
    assert caught.value.hint == "Sign in once: barua settings oauth microsoft."


def test_no_token_or_secret_is_kept_or_shown_in_clear(
    provider: OAuthServer, smtp: SmtpServer, barua_home: Path
) -> None:
    signed = google_sign_in(provider)
    assert signed.returncode == 0, signed.stderr
    use_local_smtp(smtp)
    outputs = [signed.stdout + signed.stderr]
    provider.expire_access_tokens()  # a renewal too
    queue("Invoice")
    for args in (
        ("worker", "--once"),
        ("settings", "show"),
        ("settings", "show", "--json"),
        ("outbox", "show", "1", "--json"),
        ("settings", "export", str(barua_home / "export.json")),
    ):
        done = barua(*args)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout + done.stderr)
    assert subjects(smtp) == ["Invoice"] and provider.recorder.refreshes == 1
    secrets = [*provider.every_token(), CLIENT_SECRET]
    assert len(secrets) >= 5
    files = [path for path in barua_home.rglob("*") if path.is_file()]
    assert any(path.name == "barua.db" for path in files)
    for secret in secrets:
        for form in (secret.encode(), base64.b64encode(secret.encode())):
            for path in files:
                assert form not in path.read_bytes(), f"{path.name} holds a secret"
        for output in outputs:
            assert secret not in output


# The SMTP side, without the command line -----------------------------------------------------


class Tokens:
    """A token source handing out the tokens given, one per call, and counting renewals."""

    def __init__(self, *tokens: str) -> None:
        self.tokens = list(tokens)
        self.renewals: list[int | None] = []

    def access_token(self, *, renew_after: int | None = None) -> AccessToken:
        self.renewals.append(renew_after)
        version = len(self.renewals)
        return AccessToken(self.tokens[min(version, len(self.tokens)) - 1], ACCOUNT, version)


def oauth_settings(server: SmtpServer) -> Settings:
    return make_settings(
        host="127.0.0.1",
        port=server.port,
        security="none",
        username=ACCOUNT,
        auth="oauth",
        oauth_provider="microsoft",
        oauth_client_id=CLIENT_ID,
    )


def message(settings: Settings) -> OutgoingMessage:
    return build_message(settings, to=["mteja@example.com"], subject="Ankara", text="Habari")


def test_oauthbearer_carries_the_token_when_the_server_offers_no_xoauth2(
    provider: OAuthServer,
) -> None:
    with SmtpServer(mode="plain", tokens=provider.check, mechanisms=("OAUTHBEARER",)) as server:
        settings = oauth_settings(server)
        tokens = Tokens(provider.mint(ACCOUNT))
        with SmtpTransport(settings, tokens=tokens) as smtp:
            smtp.send(message(settings))
    assert isinstance(server.recorder, TokenRecorder)
    assert server.recorder.token_logins == [("OAUTHBEARER", ACCOUNT)]
    assert len(server.messages) == 1 and tokens.renewals == [None]


def test_a_refused_token_is_renewed_once_then_the_refusal_is_explained(
    provider: OAuthServer,
) -> None:
    with SmtpServer(mode="plain", tokens=provider.check) as server:
        settings = oauth_settings(server)
        tokens = Tokens("at-not-valid", "at-still-not-valid")
        with (
            pytest.raises(AuthenticationError) as caught,
            SmtpTransport(settings, tokens=tokens) as smtp,
        ):
            smtp.send(message(settings))
    assert tokens.renewals == [None, 1], "renewed once, after the version refused"
    error = caught.value
    assert (error.cause, error.code) == (Cause.TOKEN_REFUSED, 535)
    assert str(error) == (
        f"the server refused the sign-in of {ACCOUNT} (server replied: 535 5.7.3 Authentication "
        "unsuccessful)"
    )
    advice = advise(error, settings, "en")
    assert advice.summary == f"the server refused the sign-in of {ACCOUNT}"
    assert advice.fix == (
        "Check that the account that signed in is the mailbox in the settings (username), then "
        "sign in again: barua settings oauth microsoft."
    )


def test_smtp_auth_turned_off_for_the_mailbox_says_what_the_administrator_must_do(
    provider: OAuthServer,
) -> None:
    with SmtpServer(mode="plain", tokens=provider.check) as server:
        assert isinstance(server.recorder, TokenRecorder)
        server.recorder.refusal = (
            "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for "
            "the Mailbox."
        )
        settings = oauth_settings(server)
        with (
            pytest.raises(AuthenticationError) as caught,
            SmtpTransport(settings, tokens=Tokens("at-x", "at-y")) as smtp,
        ):
            smtp.send(message(settings))
    assert caught.value.cause is Cause.SMTP_AUTH_DISABLED
    advice = advise(caught.value, settings, "sw")
    assert "Authenticated SMTP" in advice.fix


def test_a_server_without_token_login_is_named(provider: OAuthServer, smtp: SmtpServer) -> None:
    with SmtpServer(mode="plain", users={ACCOUNT: "pw"}) as passwords_only:
        settings = oauth_settings(passwords_only)
        with (
            pytest.raises(AuthenticationError) as caught,
            SmtpTransport(settings, tokens=Tokens("at-x")) as transport,
        ):
            transport.send(message(settings))
    assert caught.value.cause is Cause.AUTH_NOT_OFFERED
    assert str(caught.value) == (
        f"127.0.0.1 port {passwords_only.port} offers no login with a token (XOAUTH2 or "
        "OAUTHBEARER)"
    )


def test_a_sign_in_of_another_mailbox_than_the_sender_says_whom_to_sign_in_as(
    provider: OAuthServer,
) -> None:
    with SmtpServer(mode="plain", tokens=provider.check) as server:
        settings = oauth_settings(server).model_copy(update={"email_address": "mauzo@duka.example"})
        with (
            pytest.raises(SenderRefused) as caught,
            SmtpTransport(settings, tokens=Tokens(provider.mint(ACCOUNT))) as smtp,
        ):
            smtp.send(message(settings))
        assert server.messages == []
    assert caught.value.cause is Cause.SENDER_REFUSED
    advice = advise(caught.value, settings, "en")
    assert advice.summary == "the server does not allow sending as mauzo@duka.example"
    assert advice.fix == (
        f"You signed in with Microsoft as {ACCOUNT}, which is not mauzo@duka.example: sign in "
        "again as mauzo@duka.example (barua settings oauth microsoft), or ask an administrator "
        f"to let {ACCOUNT} send as mauzo@duka.example."
    )
