"""The settings store: businesses and their settings in barua's database (SQLite under the
test's BARUA_HOME), secrets encrypted with the home's key."""

from __future__ import annotations

import base64
import json
import os
import stat
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from platformdirs import user_data_dir
from sqlalchemy import select

from barua.app import Barua, Environment
from barua.database import tables
from barua.environment import SETTINGS_VARIABLES
from barua.errors import SettingsError, StoreError
from barua.message import build_message
from barua.secrets import KEY_FILE
from barua.settings import SECRET_FIELDS, Settings, make_settings
from barua.store import SettingsStore, env_values
from tests.conftest import PASSWORD, USER

API_KEY = "bk_live_7f3a9c2e5d1b4a60-Zq~"
CLIENT_SECRET = "GOCSPX-duka-app-secret-Ω"
SECRETS = (PASSWORD, API_KEY, CLIENT_SECRET)


def every_field() -> Settings:
    """Settings with every field away from its default, non-ASCII where a field allows it."""
    return make_settings(
        protocol="http",
        host="smtp.example.com",
        port=465,
        security="ssl",
        username=USER,
        email_address="duka@example.com",
        password=PASSWORD,
        sender_name="Duka la Mama Ülkü",
        http_service_url="https://relay.example.com",
        http_api_key=API_KEY,
        bcc_copy="archive@example.com",
        reply_to="owner@example.com",
        skip_tls_verify=True,
        pinned_certificate="ab" * 32,
        timeout=12.5,
        auth="oauth",
        oauth_provider="custom",
        oauth_client_id="duka-app",
        oauth_client_secret=CLIENT_SECRET,
        oauth_tenant="duka.example",
        oauth_issuer="https://login.duka.example",
        oauth_scope="mail openid",
        oauth_authorization_url="https://login.duka.example/authorize",
        oauth_token_url="https://login.duka.example/token",
        oauth_device_url="https://login.duka.example/device",
    )


def smtp(**changes: Any) -> dict[str, Any]:
    return {"host": "smtp.example.com", "username": USER, "password": PASSWORD, **changes}


def forms(secret: str) -> list[bytes]:
    """Every way ``secret`` could sit readable in a file."""
    utf8 = secret.encode("utf-8")
    return [
        utf8,
        secret.encode("utf-16-le"),
        secret.encode("cp1252", "ignore"),
        json.dumps(secret).strip('"').encode("ascii"),  # \u00e4 escapes
        json.dumps(secret, ensure_ascii=False).strip('"').encode("utf-8"),
        base64.b64encode(utf8),
        base64.urlsafe_b64encode(utf8),
        secret.encode("ascii", "ignore"),  # what survives if a writer drops non-ASCII
    ]


def assert_no_secret_in_clear(home: Path) -> None:
    files = [path for path in home.rglob("*") if path.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        for secret in SECRETS:
            for form in forms(secret):
                assert form not in data, f"{path.name} holds a secret in clear"


class Opened:
    """A store as barua opens it from the environment of the moment (BARUA_* variables)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.app = Barua(Environment.from_environ(environ))

    def __enter__(self) -> SettingsStore:
        return self.app.store

    def __exit__(self, *exc: object) -> None:
        self.app.close()


def opened(environ: Mapping[str, str] | None = None) -> Opened:
    return Opened(environ)


@pytest.fixture
def store() -> Iterator[SettingsStore]:
    with opened() as found:
        yield found


def stored_document(home: Path, key: str = "default") -> dict[str, Any]:
    with opened() as found:
        text = found.export_settings(found.business())
    assert text is not None
    return dict(json.loads(text))


# The environment -------------------------------------------------------------------------------


def test_home_is_barua_home_from_the_environment(barua_home: Path) -> None:
    assert Environment.from_environ().home == barua_home


def test_home_defaults_to_the_user_data_folder() -> None:
    default = Path(user_data_dir("barua", appauthor=False))
    assert Environment.from_environ({}).home == default
    # Blank counts as unset, never the current folder.
    assert Environment.from_environ({"BARUA_HOME": "  "}).home == default


def test_every_setting_has_exactly_one_variable() -> None:
    assert sorted(SETTINGS_VARIABLES.values()) == sorted(Settings.model_fields)
    assert all(name.startswith("BARUA_") for name in SETTINGS_VARIABLES)


def test_only_the_listed_variables_are_read() -> None:
    environment = Environment.from_environ(
        {"BARUA_HOME": "/x", "BARUA_SECRET_KEY": "k", "SMTP_HOST": "h", "BARUA_SMTP_HOST": ""}
    )
    assert environment.settings_overrides == {}
    assert env_values({"BARUA_HOME": "/x", "BARUA_SECRET_KEY": "k", "SMTP_HOST": "h"}) == {}


# Saving and loading ----------------------------------------------------------------------------


def test_a_new_barua_has_one_business_with_nothing_saved(store: SettingsStore) -> None:
    [only] = store.businesses()
    assert (only.key, only.name, only.has_settings) == ("default", "default", False)
    assert store.business() == only
    assert store.load(only) is None
    assert store.load_effective(only) is None


def test_every_field_survives_a_round_trip(barua_home: Path) -> None:
    settings = every_field()
    defaults = Settings.model_construct()
    for name in Settings.model_fields:
        assert getattr(settings, name) != getattr(defaults, name), name
    with opened() as store:
        store.save(store.business(), settings)
    with opened() as store:
        loaded = store.load(store.business())
    assert loaded == settings
    assert loaded is not None and loaded.password is not None and loaded.http_api_key is not None
    assert loaded.password.get_secret_value() == PASSWORD
    assert loaded.http_api_key.get_secret_value() == API_KEY


def test_the_database_keeps_secrets_encrypted_and_the_rest_readable(barua_home: Path) -> None:
    with opened() as store:
        store.save(store.business(), every_field())
    document = stored_document(barua_home)
    assert document["format"] == 1
    saved = document["settings"]
    assert saved["host"] == "smtp.example.com"
    assert saved["sender_name"] == "Duka la Mama Ülkü"
    assert saved["skip_tls_verify"] is True
    for name in ("password", "http_api_key"):
        assert list(saved[name]) == ["fernet"]
        assert saved[name]["fernet"].startswith("gAAAAA")
    assert_no_secret_in_clear(barua_home)


def test_files_are_readable_by_their_owner_only(barua_home: Path) -> None:
    old_umask = os.umask(0)
    try:
        with opened() as store:
            store.save(store.business(), every_field())
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(barua_home.stat().st_mode) == 0o700
    for path in barua_home.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    assert {KEY_FILE, "barua.db"} <= {p.name for p in barua_home.iterdir()}


def test_unset_secrets_are_omitted_and_need_no_key(barua_home: Path, store: SettingsStore) -> None:
    settings = make_settings(host="localhost", port=25, email_address="shop@example.com")
    store.save(store.business(), settings)
    saved = stored_document(barua_home)["settings"]
    assert "password" not in saved and "http_api_key" not in saved
    assert not (barua_home / KEY_FILE).exists()
    assert store.load(store.business()) == settings


def test_a_change_keeps_what_it_does_not_name_and_grows_the_version(
    barua_home: Path, store: SettingsStore
) -> None:
    shop = store.business()
    store.update(shop, smtp())
    key = (barua_home / KEY_FILE).read_bytes()
    before = store.versions()["default"]
    store.update(shop, {"port": 465, "password": "another one"})
    assert (barua_home / KEY_FILE).read_bytes() == key
    loaded = store.load(shop)
    assert loaded is not None and loaded.port == 465 and loaded.username == USER
    assert loaded.password is not None and loaded.password.get_secret_value() == "another one"
    assert store.versions()["default"] == before + 1
    store.update(shop, {"password": None})
    assert (reloaded := store.load(shop)) is not None and reloaded.password is None


def test_changes_made_at_the_same_moment_all_survive(store: SettingsStore) -> None:
    # Six processes changing one field each used to lose two to four of the changes.
    shop = store.business()
    store.update(shop, smtp())
    changes = [
        {"port": 2525},
        {"sender_name": "Duka"},
        {"bcc_copy": "archive@example.com"},
        {"reply_to": "owner@example.com"},
        {"timeout": 12.0},
        {"skip_tls_verify": True},
    ]
    start = threading.Barrier(len(changes))
    errors: list[BaseException] = []

    def change(values: dict[str, Any]) -> None:
        with opened() as own:
            start.wait()
            try:
                own.update(own.business(), values)
            except BaseException as exc:  # reported below
                errors.append(exc)

    threads = [threading.Thread(target=change, args=(values,)) for values in changes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    loaded = store.load(shop)
    assert loaded is not None
    assert (loaded.port, loaded.sender_name, loaded.bcc_copy, loaded.reply_to) == (
        2525,
        "Duka",
        "archive@example.com",
        "owner@example.com",
    )
    assert (loaded.timeout, loaded.skip_tls_verify) == (12.0, True)


def test_invalid_settings_are_not_saved(store: SettingsStore) -> None:
    shop = store.business()
    store.update(shop, smtp(sender_name="Before"))
    with pytest.raises(SettingsError) as caught:
        store.update(shop, {"port": 0})
    assert {k: str(v) for k, v in caught.value.problems.items()} == {
        "port": "port must be between 1 and 65535"
    }
    assert caught.value.problems["port"].code == "settings.port_range"
    loaded = store.load(shop)
    assert loaded is not None and loaded.sender_name == "Before" and loaded.port == 587


def test_nothing_the_store_shows_reveals_a_secret(store: SettingsStore) -> None:
    store.save(store.business(), every_field())
    loaded = store.load(store.business())
    shown = " ".join([repr(store), str(store), repr(loaded), str(loaded)])
    for secret in SECRETS:
        assert secret not in shown


def test_settings_changed_by_one_process_are_seen_by_another(barua_home: Path) -> None:
    with opened() as first, opened() as second:
        first.update(first.business(), smtp())
        version = second.versions()["default"]
        first.update(first.business(), {"port": 465})
        assert second.versions()["default"] == version + 1
        loaded = second.load(second.business())
        assert loaded is not None and loaded.port == 465


# The secret key --------------------------------------------------------------------------------


def test_key_from_environment_replaces_the_key_file(
    barua_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BARUA_SECRET_KEY", Fernet.generate_key().decode())
    with opened() as store:
        store.save(store.business(), every_field())
        assert store.load(store.business()) == every_field()
    assert not (barua_home / KEY_FILE).exists()
    assert_no_secret_in_clear(barua_home)


def test_a_different_key_cannot_decrypt_and_says_what_to_do(
    barua_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with opened() as store:
        store.update(store.business(), smtp())
    (barua_home / KEY_FILE).write_bytes(Fernet.generate_key() + b"\n")
    expected = (
        "The saved password cannot be decrypted: the secret key differs from the one "
        "it was saved with."
    )
    hint = (
        "Restore the key it was saved with (the file secret.key in the barua folder, "
        "or BARUA_SECRET_KEY), or set the password again."
    )
    with opened() as store, pytest.raises(StoreError) as caught:
        store.load(store.business())
    assert (str(caught.value), caught.value.hint) == (expected, hint)
    assert caught.value.error_code == "secrets.cannot_decrypt"

    monkeypatch.setenv("BARUA_SECRET_KEY", Fernet.generate_key().decode())
    with opened() as store, pytest.raises(StoreError) as caught:
        store.load_effective(store.business())
    assert (str(caught.value), caught.value.hint) == (expected, hint)


def test_a_lost_key_file_is_reported_not_recreated(barua_home: Path) -> None:
    with opened() as store:
        store.update(store.business(), smtp())
    (barua_home / KEY_FILE).unlink()
    with opened() as store, pytest.raises(StoreError) as caught:
        store.load(store.business())
    assert str(caught.value) == (
        f"The secret key is missing: {barua_home / KEY_FILE} does not exist "
        "and BARUA_SECRET_KEY is not set."
    )
    assert not (barua_home / KEY_FILE).exists()


def lose_the_key(how: str, barua_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if how == "deleted key file":
        (barua_home / KEY_FILE).unlink()
    else:
        monkeypatch.setenv("BARUA_SECRET_KEY", Fernet.generate_key().decode())


@pytest.mark.parametrize("how", ["deleted key file", "another BARUA_SECRET_KEY"])
def test_secrets_the_key_cannot_read_are_named_and_can_be_skipped(
    barua_home: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    with opened() as store:
        store.save(store.business(), every_field())
        assert store.unreadable_secrets(store.business()) == ()
    lose_the_key(how, barua_home, monkeypatch)
    with opened() as store:
        shop = store.business()
        assert store.unreadable_secrets(shop) == ("password", "http_api_key", "oauth_client_secret")
        loaded = store.load(shop, skip_secrets=list(SECRET_FIELDS))
        assert loaded is not None and loaded.password is None and loaded.http_api_key is None
        assert loaded.host == "smtp.example.com"


@pytest.mark.parametrize("how", ["deleted key file", "another BARUA_SECRET_KEY"])
def test_a_change_without_secrets_keeps_the_unreadable_ones_as_they_were_saved(
    barua_home: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    with opened() as store:
        store.save(store.business(), every_field())
    old_key = (barua_home / KEY_FILE).read_bytes()
    lose_the_key(how, barua_home, monkeypatch)
    with opened() as store:
        saved = store.update(store.business(), {"host": "mail.example.com"})
        assert saved.removed == () and saved.unreadable == SECRET_FIELDS
        assert store.unreadable_secrets(store.business()) == SECRET_FIELDS
    if how == "deleted key file":
        assert not (barua_home / KEY_FILE).exists(), "no key is made when nothing is encrypted"
    # The key found again reads every secret, with the change kept.
    monkeypatch.delenv("BARUA_SECRET_KEY", raising=False)
    (barua_home / KEY_FILE).write_bytes(old_key)
    with opened() as store:
        loaded = store.load(store.business())
    assert loaded == every_field().model_copy(update={"host": "mail.example.com"})


@pytest.mark.parametrize("how", ["deleted key file", "another BARUA_SECRET_KEY"])
def test_a_change_that_encrypts_a_secret_removes_those_the_key_cannot_read(
    barua_home: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    with opened() as store:
        store.save(store.business(), every_field())
    old_key = (barua_home / KEY_FILE).read_bytes()
    lose_the_key(how, barua_home, monkeypatch)
    with opened() as store:
        # The API key is given again; the password, saved with the old key, cannot stay.
        saved = store.update(store.business(), {"http_api_key": "bk_new"})
        assert saved.removed == ("password", "oauth_client_secret") and saved.unreadable == ()
        assert store.unreadable_secrets(store.business()) == ()
        now = store.load(store.business())
    assert now is not None and now.password is None and now.http_api_key is not None
    assert now.http_api_key.get_secret_value() == "bk_new"
    # The old key found again reads nothing: a business never holds secrets of two keys.
    monkeypatch.delenv("BARUA_SECRET_KEY", raising=False)
    (barua_home / KEY_FILE).write_bytes(old_key)
    with opened() as store:
        assert store.unreadable_secrets(store.business()) == ("http_api_key",)


def test_invalid_secret_key_in_environment_is_refused_on_save(
    barua_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BARUA_SECRET_KEY", "my-secret-password")
    with opened() as store, pytest.raises(StoreError) as caught:
        store.update(store.business(), smtp())
    assert str(caught.value) == (
        "BARUA_SECRET_KEY is not a valid key: it must be 32 bytes in URL-safe base64 "
        '(44 characters ending in "=").'
    )
    assert "my-secret-password" not in f"{caught.value} {caught.value.hint}"
    monkeypatch.delenv("BARUA_SECRET_KEY")
    with opened() as store:
        assert store.load(store.business()) is None


# Businesses ------------------------------------------------------------------------------------


def test_businesses_are_added_found_by_name_renamed_and_removed(store: SettingsStore) -> None:
    duka = store.add_business("  Duka   la Amani ")
    assert duka.name == "Duka la Amani" and duka.key.startswith("duka-la-amani-")
    assert store.business("DUKA LA amani") == duka
    assert [b.name for b in store.businesses()] == ["default", "Duka la Amani"]
    assert store.business() == store.business("default"), "the one named default"
    store.update(duka, smtp(port=465))
    renamed = store.rename_business(duka, "Amani Traders")
    assert renamed.key == duka.key
    loaded = store.load(renamed)
    assert loaded is not None and loaded.port == 465, "settings stay with the business"
    store.remove_business(renamed)
    assert [b.name for b in store.businesses()] == ["default"]


def test_a_business_name_is_taken_once_whatever_its_case(store: SettingsStore) -> None:
    store.add_business("Duka la Amani")
    with pytest.raises(StoreError) as caught:
        store.add_business("duka la AMANI")
    assert str(caught.value) == 'there is already a business named "duka la AMANI"'
    with pytest.raises(StoreError):
        store.rename_business(store.business(), "Duka La Amani")


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("   ", "the business name must not be empty"),
        ("x" * 101, "the business name must be at most 100 characters"),
        ("Duka\x1b[2J", "the business name must not contain control characters"),
    ],
)
def test_a_bad_business_name_is_refused(store: SettingsStore, name: str, problem: str) -> None:
    with pytest.raises(SettingsError) as caught:
        store.add_business(name)
    assert str(caught.value) == problem


def test_with_several_businesses_and_none_called_default_the_business_must_be_named(
    store: SettingsStore,
) -> None:
    store.rename_business(store.business(), "Duka la Kwanza")
    assert store.business().name == "Duka la Kwanza", "the only one"
    store.add_business("Duka la Pili")
    with pytest.raises(StoreError) as caught:
        store.business()
    assert str(caught.value) == (
        "there are several businesses; say which one: Duka la Kwanza, Duka la Pili"
    )
    assert caught.value.hint == 'Give --business NAME, e.g. --business "Duka la Kwanza".'
    with pytest.raises(StoreError) as missing:
        store.business("Duka la Tatu")
    assert str(missing.value) == 'there is no business named "Duka la Tatu"'


def test_a_business_with_mail_waiting_cannot_be_removed(store: SettingsStore) -> None:
    duka = store.add_business("Duka la Amani")
    settings = make_settings(**smtp())
    with Barua(Environment.from_environ()) as app:
        message = build_message(settings, to=["a@example.com"], subject="Hi", text="Hi")
        entry = app.outbox.enqueue(message, settings=settings, business=duka.key)
        with pytest.raises(StoreError) as caught:
            app.store.remove_business(duka)
        assert str(caught.value) == (
            'the business "Duka la Amani" still has 1 email(s) waiting in the outbox'
        )
        app.outbox.cancel(entry.id)
        app.store.remove_business(duka)
        assert [b.name for b in app.store.businesses()] == ["default"]


def test_each_business_has_its_own_settings(store: SettingsStore) -> None:
    duka = store.add_business("Duka")
    store.update(store.business(), smtp())
    store.update(duka, smtp(host="mail.duka.example", password="duka-pw"))
    first, second = store.load(store.business()), store.load(duka)
    assert first is not None and second is not None
    assert (first.host, second.host) == ("smtp.example.com", "mail.duka.example")
    assert second.password is not None and second.password.get_secret_value() == "duka-pw"


# Settings of an earlier barua, exports and imports ---------------------------------------------


def write_legacy_file(home: Path, content: str | bytes) -> Path:
    home.mkdir(exist_ok=True)
    path = home / "settings.json"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def test_the_settings_file_of_an_earlier_barua_is_imported_once_and_kept(
    barua_home: Path,
) -> None:
    key = Fernet.generate_key()
    barua_home.mkdir()
    (barua_home / KEY_FILE).write_bytes(key + b"\n")
    token = Fernet(key).encrypt(PASSWORD.encode()).decode()
    legacy = {
        "format": 1,
        "settings": {"host": "smtp.example.com", "username": USER, "password": {"fernet": token}},
    }
    write_legacy_file(barua_home, json.dumps(legacy))
    with opened() as store:
        loaded = store.load(store.business())
    assert loaded is not None and loaded.host == "smtp.example.com"
    assert loaded.password is not None and loaded.password.get_secret_value() == PASSWORD
    assert not (barua_home / "settings.json").exists()
    assert json.loads((barua_home / "settings.json.imported").read_text()) == legacy
    with opened() as store:
        assert store.load(store.business()) == loaded


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"format": 1, "settings": {', "not valid JSON (Expecting property name enclosed in "
         "double quotes at line 1, column 28)"),
        ("", "not valid JSON (Expecting value at line 1, column 1)"),
        (b"\xff\xfe{}", "not UTF-8 text"),
    ],
)  # fmt: skip
def test_a_damaged_settings_file_is_named_with_a_hint(
    barua_home: Path, content: str | bytes, problem: str
) -> None:
    path = write_legacy_file(barua_home, content)
    with opened() as store, pytest.raises(StoreError) as caught:
        store.business()
    assert str(caught.value) == f"the saved settings in {path} are damaged: {problem}"
    assert caught.value.hint == "Move the file aside (or delete it) and save the settings again."
    assert path.exists(), "the file stays for the user to look at"


@pytest.mark.parametrize(
    "content",
    [
        "[]",
        '"settings"',
        '{"host": "smtp.example.com"}',
        '{"format": 1}',
        '{"format": 1, "settings": []}',
        '{"format": "1", "settings": {}}',
        '{"format": true, "settings": {}}',
        '{"format": 0, "settings": {}}',
    ],
)
def test_an_unknown_document_is_named_with_a_hint(barua_home: Path, content: str) -> None:
    with opened() as store, pytest.raises(StoreError) as caught:
        store.import_settings(store.business(), content, source="backup.json")
    assert str(caught.value) == "the saved settings in backup.json are not in a format barua knows"
    assert caught.value.hint == "Move the file aside (or delete it) and save the settings again."


def test_a_document_from_a_newer_barua_asks_for_an_upgrade(store: SettingsStore) -> None:
    with pytest.raises(StoreError) as caught:
        store.import_settings(store.business(), '{"format": 2, "settings": {}}', source="x.json")
    assert str(caught.value) == (
        "the saved settings in x.json were written by a newer version of barua (format 2)"
    )
    assert caught.value.hint == "Upgrade barua to read them."


@pytest.mark.parametrize("value", [f'"{PASSWORD}"', '{"plain": "x"}', '{"fernet": 1}'])
def test_a_secret_not_encrypted_by_barua_is_refused(store: SettingsStore, value: str) -> None:
    document = (
        '{"format": 1, "settings": {"host": "smtp.example.com", "username": "shop@example.com", '
        f'"password": {value}}}}}'
    )
    with pytest.raises(StoreError) as caught:
        store.import_settings(store.business(), document, source="x.json")
    assert str(caught.value) == "the saved settings in x.json hold password unencrypted or damaged"
    assert caught.value.hint == (
        "Remove password from them and set it again with barua, which encrypts it."
    )
    assert PASSWORD not in f"{caught.value} {caught.value.hint}"
    assert store.load(store.business()) is None


def test_stale_invalid_values_raise_settings_error_naming_the_source(store: SettingsStore) -> None:
    document = (
        '{"format": 1, "settings": {"host": "smtp.example.com", "port": 0, '
        '"email_address": "shop@example.com", "colour": "blue"}}'
    )
    with pytest.raises(SettingsError) as caught:
        store.import_settings(store.business(), document, source="old.json")
    assert {k: str(v) for k, v in caught.value.problems.items()} == {
        "port": "port must be between 1 and 65535",
        "colour": "colour is not a setting barua knows",
    }
    assert (
        caught.value.hint
        == "The saved settings of old.json hold this: correct them and save again."
    )


def test_an_export_imports_into_another_business_with_its_secrets_encrypted(
    barua_home: Path, store: SettingsStore
) -> None:
    store.save(store.business(), every_field())
    exported = store.export_settings(store.business())
    assert exported is not None and PASSWORD not in exported and API_KEY not in exported
    duka = store.add_business("Duka")
    store.import_settings(duka, exported, source="export.json")
    assert store.load(duka) == every_field()


# Environment overrides -------------------------------------------------------------------------


def test_environment_overrides_saved_values_of_the_default_business(
    barua_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with opened() as store:
        store.update(store.business(), smtp(sender_name="Saved"))
        other = store.add_business("Duka")
        store.update(other, smtp(host="mail.duka.example"))
    overrides = {
        "BARUA_SMTP_HOST": "mail.example.org",
        "BARUA_SMTP_PORT": "2525",
        "BARUA_SMTP_SECURITY": "STARTTLS",
        "BARUA_SKIP_TLS_VERIFY": "yes",
        "BARUA_TIMEOUT": "7.5",
        "BARUA_SMTP_PASSWORD": "from the environment",
        "BARUA_SENDER_NAME": "",  # blank: the saved value stays
    }
    for name, value in overrides.items():
        monkeypatch.setenv(name, value)
    with opened() as store:
        shop = store.business()
        effective = store.load_effective(shop)
        assert effective is not None
        assert (effective.host, effective.port, effective.security) == (
            "mail.example.org",
            2525,
            "starttls",
        )
        assert (effective.skip_tls_verify, effective.timeout) == (True, 7.5)
        assert effective.sender_name == "Saved" and effective.username == USER
        assert effective.password is not None
        assert effective.password.get_secret_value() == "from the environment"
        saved = store.load(shop)
        assert saved is not None and saved.host == "smtp.example.com", "nothing is saved"
        duka = store.load_effective(store.business("Duka"))
        assert duka is not None and duka.host == "mail.duka.example", "only the default one"
        assert store.overridden_variables(shop)[:2] == ["BARUA_SMTP_HOST", "BARUA_SMTP_PORT"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        *[("1", True), ("true", True), ("Yes", True), (" TRUE ", True)],
        *[("0", False), ("false", False), ("no", False), ("No", False)],
    ],
)
def test_booleans_accept_the_usual_words(value: str, expected: bool) -> None:
    assert env_values({"BARUA_SKIP_TLS_VERIFY": value}) == {"skip_tls_verify": expected}


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("BARUA_SMTP_PORT", "587a", "BARUA_SMTP_PORT: port must be a whole number"),
        ("BARUA_SMTP_PORT", "70000", "BARUA_SMTP_PORT: port must be between 1 and 65535"),
        ("BARUA_TIMEOUT", "soon", "BARUA_TIMEOUT: timeout must be a number"),
        (
            "BARUA_SMTP_SECURITY",
            "tls",
            "BARUA_SMTP_SECURITY: security must be one of 'auto', 'ssl', 'starttls', "
            "'starttls_if_offered' or 'none'",
        ),
        (
            "BARUA_SKIP_TLS_VERIFY",
            "maybe",
            "BARUA_SKIP_TLS_VERIFY: skip_tls_verify must be true or false "
            "(1/0, true/false or yes/no)",
        ),
        (
            "BARUA_SMTP_HOST",
            "smtp://mail.example.com",
            'BARUA_SMTP_HOST: host must be a server name such as smtp.example.com, without "smtp://"',
        ),
        (
            "BARUA_SMTP_PASSWORD",
            "Pässwörd\nBcc: victim@example.com",
            "BARUA_SMTP_PASSWORD: password must not contain line breaks",
        ),
    ],
)
def test_a_bad_environment_value_names_its_variable(
    barua_home: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    with opened() as store:
        store.update(store.business(), smtp())
    monkeypatch.setenv(variable, value)
    with opened() as store, pytest.raises(SettingsError) as caught:
        store.load_effective(store.business())
    assert str(caught.value) == message
    assert caught.value.hint == f"Correct the environment variable {variable}."
    assert "Pässwörd" not in f"{caught.value} {caught.value.hint}"


def test_several_bad_values_are_reported_together(barua_home: Path) -> None:
    with opened() as store:
        store.update(store.business(), smtp())
    environ = {**os.environ, "BARUA_SMTP_PORT": "x", "BARUA_PROTOCOL": "ftp", "BARUA_TIMEOUT": "0"}
    with opened(environ) as store, pytest.raises(SettingsError) as caught:
        store.load_effective(store.business())
    assert {k: str(v) for k, v in caught.value.problems.items()} == {
        "protocol": "BARUA_PROTOCOL: protocol must be one of 'smtp' or 'http'",
        "port": "BARUA_SMTP_PORT: port must be a whole number",
        "timeout": "BARUA_TIMEOUT: timeout must be more than 0 and at most 600 seconds",
    }
    assert caught.value.hint == (
        "Correct the environment variables BARUA_PROTOCOL, BARUA_SMTP_PORT, BARUA_TIMEOUT."
    )


def test_a_combination_made_invalid_by_the_environment_points_at_both(barua_home: Path) -> None:
    with opened() as store:
        store.update(store.business(), smtp())
    environ = {**os.environ, "BARUA_PROTOCOL": "http"}
    with opened(environ) as store, pytest.raises(SettingsError) as caught:
        store.load_effective(store.business())
    assert {k: str(v) for k, v in caught.value.problems.items()} == {
        "http_service_url": "http_service_url is required with the HTTP protocol",
        "reply_to": "reply_to is required with the HTTP protocol: the service sends from its "
        "own address, so replies must go to yours",
    }
    assert caught.value.hint == (
        "The saved settings of default hold this: correct them and save again."
    )


def test_settings_can_come_from_the_environment_alone(barua_home: Path) -> None:
    environ = {
        **os.environ,
        "BARUA_PROTOCOL": "http",
        "BARUA_HTTP_SERVICE_URL": "https://relay.example.com/",
        "BARUA_HTTP_API_KEY": API_KEY,
        "BARUA_REPLY_TO": "owner@example.com",
    }
    with opened(environ) as store:
        settings = store.load_effective(store.business())
    assert settings == make_settings(
        protocol="http",
        http_service_url="https://relay.example.com",
        http_api_key=API_KEY,
        reply_to="owner@example.com",
    )
    assert not (barua_home / KEY_FILE).exists(), "reading never makes a key"


def test_incomplete_environment_alone_says_what_is_missing(barua_home: Path) -> None:
    environ = {**os.environ, "BARUA_SMTP_USERNAME": "shop"}
    with opened(environ) as store, pytest.raises(SettingsError) as caught:
        store.load_effective(store.business())
    assert {k: str(v) for k, v in caught.value.problems.items()} == {
        "host": "host is required with the SMTP protocol",
        "email_address": 'email_address is required because username "shop" is not an '
        "email address",
    }
    assert caught.value.hint == (
        "Nothing is saved for default yet: save the settings, or give the missing values with "
        "the BARUA_* environment variables."
    )


def test_a_secret_given_by_the_environment_needs_no_key(barua_home: Path) -> None:
    # A container may share the database without the key file and pass the password.
    with opened() as store:
        store.update(store.business(), smtp())
    (barua_home / KEY_FILE).unlink()
    with opened({**os.environ, "BARUA_SMTP_PASSWORD": "from env"}) as store:
        effective = store.load_effective(store.business())
    assert effective is not None and effective.password is not None
    assert effective.password.get_secret_value() == "from env"
    with opened() as store, pytest.raises(StoreError, match=r"^The secret key is missing"):
        store.load_effective(store.business())


def test_the_business_table_holds_no_secret_in_clear(barua_home: Path) -> None:
    with opened() as store:
        store.save(store.business(), every_field())
        with store._engine.connect() as conn:  # what anyone with the database sees
            rows = conn.execute(select(tables.businesses.c.settings)).scalars().all()
    text = " ".join(str(row) for row in rows)
    assert "smtp.example.com" in text
    for secret in SECRETS:
        assert secret not in text
