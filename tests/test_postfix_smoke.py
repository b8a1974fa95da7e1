"""The test Postfix works, proved with the standard library only (smtplib, ssl).

The ``postfix`` fixture (session-scoped) comes from tests/postfix_fixtures.py via conftest.py.
"""

from __future__ import annotations

import base64
import smtplib
import ssl
import uuid
from email.message import EmailMessage

import pytest
from cryptography import x509

from tests.postfix_server import PostfixServer


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# smtplib's login() encodes credentials as ASCII on Python 3.11, and the test password is not
# ASCII: these speak AUTH by hand, with the password as UTF-8 bytes.
def auth_plain(smtp: smtplib.SMTP, user: str, password: str) -> tuple[int, bytes]:
    return smtp.docmd("AUTH", "PLAIN " + _b64(b"\0" + user.encode() + b"\0" + password.encode()))


def auth_login(smtp: smtplib.SMTP, user: str, password: str) -> tuple[int, bytes]:
    code, reply = smtp.docmd("AUTH", "LOGIN")
    assert (code, base64.b64decode(reply)) == (334, b"Username:")
    code, reply = smtp.docmd(_b64(user.encode()))
    assert (code, base64.b64decode(reply)) == (334, b"Password:")
    return smtp.docmd(_b64(password.encode()))


def make_message(user: str, to: str) -> tuple[EmailMessage, str, str]:
    marker = uuid.uuid4().hex
    subject = f"Invoice {marker}"
    body = f"Habari! Body of {marker}: Pässwörd-free text ß€.\n"
    message = EmailMessage()
    message["From"] = user
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body, cte="8bit")
    return message, subject, body


def assert_delivered(server: PostfixServer, subject: str, body: str) -> bytes:
    [data] = server.wait_for_messages(1, containing=subject.encode())
    assert f"Subject: {subject}".encode() in data
    assert body.encode() in data
    return data


def peer_certificate(postfix: PostfixServer, port_name: str, context: ssl.SSLContext) -> bytes:
    """The DER certificate the smtps or submission port presents, verified by ``context``."""
    smtp: smtplib.SMTP
    if port_name == "smtps":
        smtp = smtplib.SMTP_SSL(postfix.host, postfix.smtps_port, context=context, timeout=10)
    else:
        smtp = smtplib.SMTP(postfix.host, postfix.submission_port, timeout=10)
    with smtp:  # closed also when the handshake refuses the certificate
        if port_name != "smtps":
            smtp.starttls(context=context)
        assert isinstance(smtp.sock, ssl.SSLSocket)
        der = smtp.sock.getpeercert(binary_form=True)
        assert der is not None
        return der


@pytest.mark.parametrize("port_name", ["smtps", "submission"])
def test_tls_ports_present_the_self_signed_certificate(
    postfix: PostfixServer, port_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    der = peer_certificate(postfix, port_name, postfix.ssl_context())
    assert der == postfix.certificate.der
    cert = x509.load_der_x509_certificate(der)
    assert cert.issuer == cert.subject
    cert.verify_directly_issued_by(cert)  # signed with its own key: no CA behind it

    # The system's authorities do not know it, and OpenSSL sees a lone self-signed certificate
    # (X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT), not a chain up to some untrusted root.
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with pytest.raises(ssl.SSLCertVerificationError) as refused:
        peer_certificate(postfix, port_name, ssl.create_default_context())
    assert refused.value.verify_code == 18, refused.value.verify_message


def test_smtps_login_and_send(postfix: PostfixServer) -> None:
    message, subject, body = make_message(postfix.user, "customer@example.org")
    with smtplib.SMTP_SSL(postfix.host, postfix.smtps_port, context=postfix.ssl_context()) as smtp:
        smtp.ehlo()
        assert set(smtp.esmtp_features["auth"].upper().split()) == {"PLAIN", "LOGIN"}
        assert "starttls" not in smtp.esmtp_features
        assert auth_plain(smtp, postfix.user, postfix.password)[0] == 235
        assert smtp.send_message(message) == {}
    data = assert_delivered(postfix, subject, body)
    assert b"Delivered-To: customer@example.org" in data


def test_submission_starttls_login_and_send(postfix: PostfixServer) -> None:
    message, subject, body = make_message(postfix.user, "someone@localhost")
    with smtplib.SMTP(postfix.host, postfix.submission_port) as smtp:
        smtp.ehlo()
        assert "starttls" in smtp.esmtp_features
        smtp.starttls(context=postfix.ssl_context())
        smtp.ehlo()
        assert set(smtp.esmtp_features["auth"].upper().split()) == {"PLAIN", "LOGIN"}
        assert auth_login(smtp, postfix.user, postfix.password)[0] == 235
        assert smtp.send_message(message) == {}
    assert_delivered(postfix, subject, body)


def test_submission_refuses_auth_and_mail_before_starttls(postfix: PostfixServer) -> None:
    with smtplib.SMTP(postfix.host, postfix.submission_port) as smtp:
        smtp.ehlo()
        assert "auth" not in smtp.esmtp_features
        code, reply = auth_plain(smtp, postfix.user, postfix.password)
        assert code == 530, reply
        code, reply = smtp.mail(postfix.user)
        assert code == 530, reply
        assert b"STARTTLS" in reply


def test_tls_ports_refuse_mail_without_auth(postfix: PostfixServer) -> None:
    with smtplib.SMTP_SSL(postfix.host, postfix.smtps_port, context=postfix.ssl_context()) as smtp:
        smtp.ehlo()
        code, reply = smtp.mail(postfix.user)
        assert code == 530, reply
    with smtplib.SMTP(postfix.host, postfix.submission_port) as smtp:
        smtp.starttls(context=postfix.ssl_context())
        smtp.ehlo()
        code, reply = smtp.mail(postfix.user)
        assert code == 530, reply


def test_plain_port_offers_neither_starttls_nor_auth(postfix: PostfixServer) -> None:
    message, subject, body = make_message(postfix.user, "anyone@example.com")
    with smtplib.SMTP(postfix.host, postfix.plain_port) as smtp:
        smtp.ehlo()
        assert "starttls" not in smtp.esmtp_features
        assert "auth" not in smtp.esmtp_features
        assert smtp.docmd("STARTTLS")[0] == 502
        assert auth_plain(smtp, postfix.user, postfix.password)[0] == 503
        assert smtp.send_message(message) == {}
    assert_delivered(postfix, subject, body)


@pytest.mark.parametrize("port_name", ["smtps", "submission"])
def test_wrong_password_gets_535(postfix: PostfixServer, port_name: str) -> None:
    context = postfix.ssl_context()
    smtp: smtplib.SMTP
    if port_name == "smtps":
        smtp = smtplib.SMTP_SSL(postfix.host, postfix.smtps_port, context=context)
    else:
        smtp = smtplib.SMTP(postfix.host, postfix.submission_port)
        smtp.starttls(context=context)
    with smtp:
        smtp.ehlo()
        code, reply = auth_plain(smtp, postfix.user, "Pässwörd-ß€-wrong")
        assert code == 535, reply
        code, reply = auth_login(smtp, postfix.user, "password")
        assert code == 535, reply
        # The stdlib's own login() with an ASCII password: the error it raises.
        with pytest.raises(smtplib.SMTPAuthenticationError) as raised:
            smtp.login(postfix.user, "wrong")
        assert raised.value.smtp_code == 535


def test_every_recipient_lands_in_the_one_mailbox(postfix: PostfixServer) -> None:
    marker = uuid.uuid4().hex.encode()
    recipients = ["a@example.com", "b@example.org", "c@localhost", "d@gmail.com"]
    with smtplib.SMTP(postfix.host, postfix.plain_port) as smtp:
        for to in recipients:
            smtp.sendmail(postfix.user, [to], b"Subject: " + marker + b"\r\n\r\nto " + to.encode())
    messages = postfix.wait_for_messages(len(recipients), containing=marker)
    assert sorted(m.split(b"\nDelivered-To: ")[1].split(b"\n")[0] for m in messages) == [
        to.encode() for to in recipients
    ]
