"""The settings model: every field of the form, and one clear message per wrong field."""

from __future__ import annotations

import pytest

from barua.errors import SettingsError
from barua.settings import Protocol, Security, make_settings, update_settings


def problems(**values: object) -> dict[str, str]:
    with pytest.raises(SettingsError) as caught:
        make_settings(**values)
    return {field: str(problem) for field, problem in caught.value.problems.items()}


def test_username_that_is_an_address_is_the_sending_address() -> None:
    s = make_settings(host="smtp.example.com", username="shop@example.com", password="pw")
    assert s.from_address == "shop@example.com"
    assert s.protocol is Protocol.SMTP


def test_email_address_is_required_when_username_is_not_an_address() -> None:
    assert problems(host="smtp.example.com", username="shop", password="pw") == {
        "email_address": 'email_address is required because username "shop" is not an email address'
    }
    s = make_settings(
        host="smtp.example.com", username="shop", password="pw", email_address="a@example.com"
    )
    assert s.from_address == "a@example.com"


def test_reply_to_is_required_with_http() -> None:
    found = problems(protocol="http", http_service_url="https://mail.example.com")
    assert found == {
        "reply_to": "reply_to is required with the HTTP protocol: the service sends from its "
        "own address, so replies must go to yours"
    }


def test_http_requires_https_except_for_loopback() -> None:
    found = problems(
        protocol="http", http_service_url="http://mail.example.com", reply_to="a@example.com"
    )
    assert found["http_service_url"] == (
        "http_service_url must use https:// (plain http:// is allowed only for localhost)"
    )
    s = make_settings(
        protocol="http", http_service_url="http://127.0.0.1:8080/", reply_to="a@example.com"
    )
    assert s.http_service_url == "http://127.0.0.1:8080"


@pytest.mark.parametrize("port", [0, 65536, -1])
def test_port_range(port: int) -> None:
    assert problems(host="smtp.example.com", username="a@example.com", port=port) == {
        "port": "port must be between 1 and 65535"
    }


def test_port_must_be_a_number() -> None:
    assert problems(host="smtp.example.com", username="a@example.com", port="abc") == {
        "port": "port must be a whole number"
    }


@pytest.mark.parametrize(
    ("host", "message"),
    [
        (
            "smtp://mail.example.com",
            'host must be a server name such as smtp.example.com, without "smtp://"',
        ),
        (
            "mail.example.com:587",
            "host must not contain a port or path: put the port in the port field",
        ),
        ("bad host", 'host "bad host" is not a valid server name'),
    ],
)
def test_host_is_a_bare_name(host: str, message: str) -> None:
    assert problems(host=host, username="a@example.com") == {"host": message}


def test_internationalised_host_and_ip_are_accepted() -> None:
    assert make_settings(host="smtp.bücher.de", username="a@example.com").host == "smtp.bücher.de"
    assert make_settings(host="[::1]", username="a@example.com").host == "::1"


def test_addresses_are_validated_and_domains_normalised() -> None:
    found = problems(host="smtp.example.com", username="a@example.com", bcc_copy="not-an-address")
    assert list(found) == ["bcc_copy"]
    assert found["bcc_copy"].startswith('bcc_copy: "not-an-address" is not a valid email address')
    s = make_settings(host="h.example.com", username="a@example.com", reply_to="office@bücher.de")
    assert s.reply_to == "office@xn--bcher-kva.de"


@pytest.mark.parametrize("field", ["sender_name", "username", "host", "password", "reply_to"])
def test_line_breaks_are_refused_in_every_value(field: str) -> None:
    values: dict[str, object] = {"host": "smtp.example.com", "username": "a@example.com"}
    values[field] = "x\r\nBcc: victim@example.com"
    found = problems(**values)
    assert found == {field: f"{field} must not contain line breaks"}


def test_security_is_derived_from_the_port() -> None:
    base = {"host": "smtp.example.com", "username": "a@example.com"}
    assert make_settings(**base, port=465).effective_security is Security.SSL
    assert make_settings(**base, port=587).effective_security is Security.STARTTLS
    assert make_settings(**base, port=25).effective_security is Security.STARTTLS_IF_OFFERED
    assert make_settings(**base, port=465, security="starttls").effective_security is (
        Security.STARTTLS
    )


def test_several_problems_are_reported_together() -> None:
    found = problems(protocol="smtp", port=70000)
    assert found["port"] == "port must be between 1 and 65535"


def test_secrets_never_print() -> None:
    s = make_settings(host="smtp.example.com", username="a@example.com", password="Pässwörd-ß€")
    assert "Pässwörd" not in repr(s)
    assert "Pässwörd" not in str(s.public_dict())
    assert s.public_dict()["password_set"] is True


def test_update_changes_one_field_and_keeps_the_others() -> None:
    s = make_settings(host="smtp.example.com", username="a@example.com", password="pw")
    t = update_settings(s, port=465)
    assert (t.port, t.host, t.password) == (465, "smtp.example.com", s.password)
    with pytest.raises(SettingsError):
        update_settings(s, port=0)


HTTP = {
    "protocol": "http",
    "http_service_url": "https://relay.example.com",
    "reply_to": "office@example.com",
}


@pytest.mark.parametrize("key", ["my key with spaces", "kéy", "a\tb"])
def test_an_api_key_that_cannot_travel_in_a_header_is_refused_without_quoting_it(
    key: str,
) -> None:
    assert problems(**HTTP, http_api_key=key) == {
        "http_api_key": "http_api_key may contain only ASCII letters, digits and punctuation, "
        "without spaces"
    }


def test_spaces_and_line_breaks_around_an_api_key_are_dropped() -> None:
    settings = make_settings(**HTTP, http_api_key=" bk_live_1\r\n")
    assert settings.http_api_key is not None
    assert settings.http_api_key.get_secret_value() == "bk_live_1"
    assert make_settings(**HTTP, http_api_key=" \n").http_api_key is None


@pytest.mark.parametrize("field", ["sender_name", "username", "host", "password"])
def test_text_that_was_not_utf8_is_refused_by_name(field: str) -> None:
    values: dict[str, object] = {"host": "smtp.example.com", "username": "a@example.com"}
    values[field] = "M\udcfcller"  # b"M\xfcller" (Latin-1) as Python reads it from argv
    assert problems(**values) == {field: f"{field} is not valid UTF-8 text"}
