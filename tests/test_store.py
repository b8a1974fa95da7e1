"""The settings store, on real files under the test's BARUA_HOME."""

from __future__ import annotations

import base64
import errno
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from platformdirs import user_data_dir

from barua.errors import SettingsError, StoreError
from barua.secrets import KEY_FILE
from barua.settings import Settings, make_settings
from barua.store import ENV_OVERRIDES, SETTINGS_FILE, SettingsStore, env_values
from barua.store import barua_home as home_folder
from tests.conftest import PASSWORD, USER

API_KEY = "bk_live_7f3a9c2e5d1b4a60-Zq~"
SECRETS = (PASSWORD, API_KEY)


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
    )


def smtp_settings(**changes: Any) -> Settings:
    values: dict[str, Any] = {"host": "smtp.example.com", "username": USER, "password": PASSWORD}
    return make_settings(**{**values, **changes})


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


def settings_file(home: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((home / SETTINGS_FILE).read_text("utf-8"))
    return document


def write_settings_file(home: Path, content: str | bytes) -> Path:
    home.mkdir(exist_ok=True)
    path = home / SETTINGS_FILE
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


# Home folder -------------------------------------------------------------------------------


def test_home_is_barua_home_from_the_environment(barua_home: Path) -> None:
    assert home_folder() == barua_home
    assert SettingsStore().path == barua_home / SETTINGS_FILE


def test_home_defaults_to_the_user_data_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BARUA_HOME")
    assert home_folder() == Path(user_data_dir("barua", appauthor=False))
    monkeypatch.setenv("BARUA_HOME", "  ")  # blank counts as unset, never the current folder
    assert home_folder() == Path(user_data_dir("barua", appauthor=False))


# Saving and loading -----------------------------------------------------------------------


def test_nothing_saved_loads_as_none_and_creates_nothing(barua_home: Path) -> None:
    store = SettingsStore()
    assert store.load() is None
    assert store.load_effective(environ={}) is None
    assert not barua_home.exists()


def test_every_field_survives_a_round_trip(barua_home: Path) -> None:
    settings = every_field()
    defaults = Settings.model_construct()
    for name in Settings.model_fields:
        assert getattr(settings, name) != getattr(defaults, name), name

    SettingsStore().save(settings)
    loaded = SettingsStore(barua_home).load()
    assert loaded == settings
    assert loaded is not None
    assert loaded.password is not None
    assert loaded.password.get_secret_value() == PASSWORD
    assert loaded.http_api_key is not None
    assert loaded.http_api_key.get_secret_value() == API_KEY


def test_the_file_keeps_secrets_encrypted_and_the_rest_readable(barua_home: Path) -> None:
    SettingsStore().save(every_field())
    document = settings_file(barua_home)
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
        SettingsStore().save(every_field())
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(barua_home.stat().st_mode) == 0o700
    assert stat.S_IMODE((barua_home / SETTINGS_FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE((barua_home / KEY_FILE).stat().st_mode) == 0o600
    assert sorted(p.name for p in barua_home.iterdir()) == [KEY_FILE, SETTINGS_FILE]


def test_unset_secrets_are_omitted_and_need_no_key(barua_home: Path) -> None:
    settings = make_settings(host="localhost", port=25, email_address="shop@example.com")
    SettingsStore().save(settings)
    saved = settings_file(barua_home)["settings"]
    assert "password" not in saved
    assert "http_api_key" not in saved
    assert not (barua_home / KEY_FILE).exists()
    assert SettingsStore().load() == settings


def test_saving_again_reuses_the_key_and_replaces_the_settings(barua_home: Path) -> None:
    store = SettingsStore()
    store.save(smtp_settings())
    key = (barua_home / KEY_FILE).read_bytes()
    store.save(smtp_settings(port=465, password="another one"))
    assert (barua_home / KEY_FILE).read_bytes() == key
    loaded = store.load()
    assert loaded is not None
    assert loaded.port == 465
    assert loaded.password is not None
    assert loaded.password.get_secret_value() == "another one"


def test_nothing_the_store_shows_reveals_a_secret(barua_home: Path) -> None:
    store = SettingsStore()
    store.save(every_field())
    loaded = store.load()
    shown = " ".join([repr(store), str(store), repr(loaded), str(loaded)])
    assert repr(store) == f"SettingsStore({str(barua_home)!r})"
    for secret in SECRETS:
        assert secret not in shown


# Secret key -------------------------------------------------------------------------------


def test_key_from_environment_replaces_the_key_file(
    barua_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BARUA_SECRET_KEY", Fernet.generate_key().decode())
    SettingsStore().save(every_field())
    assert sorted(p.name for p in barua_home.iterdir()) == [SETTINGS_FILE]
    assert SettingsStore().load() == every_field()
    assert_no_secret_in_clear(barua_home)


def test_a_different_key_cannot_decrypt_and_says_what_to_do(
    barua_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    SettingsStore().save(smtp_settings())
    (barua_home / KEY_FILE).write_bytes(Fernet.generate_key() + b"\n")
    expected = (
        "The saved password cannot be decrypted: the secret key differs from the one "
        "it was saved with."
    )
    hint = (
        "Restore the key it was saved with (the file secret.key in the barua folder, "
        "or BARUA_SECRET_KEY), or set the password again."
    )
    with pytest.raises(StoreError) as caught:
        SettingsStore().load()
    assert (str(caught.value), caught.value.hint) == (expected, hint)

    monkeypatch.setenv("BARUA_SECRET_KEY", Fernet.generate_key().decode())
    with pytest.raises(StoreError) as caught:
        SettingsStore().load_effective()
    assert (str(caught.value), caught.value.hint) == (expected, hint)


def test_a_lost_key_file_is_reported_not_recreated(barua_home: Path) -> None:
    SettingsStore().save(smtp_settings())
    (barua_home / KEY_FILE).unlink()
    with pytest.raises(StoreError) as caught:
        SettingsStore().load()
    assert str(caught.value) == (
        f"The secret key is missing: {barua_home / KEY_FILE} does not exist "
        "and BARUA_SECRET_KEY is not set."
    )
    assert not (barua_home / KEY_FILE).exists()


def test_secrets_the_key_cannot_read_are_named(
    barua_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SettingsStore()
    store.save(every_field())
    assert store.unreadable_secrets() == ()
    (barua_home / KEY_FILE).unlink()
    assert store.unreadable_secrets() == ("password", "http_api_key")
    monkeypatch.setenv("BARUA_SECRET_KEY", Fernet.generate_key().decode())
    assert store.unreadable_secrets() == ("password", "http_api_key")


def test_skipped_secrets_are_not_decrypted_so_a_lost_key_does_not_stop_a_load(
    barua_home: Path,
) -> None:
    store = SettingsStore()
    store.save(every_field())
    (barua_home / KEY_FILE).unlink()
    loaded = store.load(skip_secrets=["password", "http_api_key"])
    effective = store.load_effective(environ={}, skip_secrets=["password", "http_api_key"])
    assert loaded is not None and effective is not None
    assert loaded.password is None and loaded.http_api_key is None
    assert loaded.host == "smtp.example.com" and effective == loaded
    assert not (barua_home / KEY_FILE).exists()


def lose_the_key(how: str, barua_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if how == "deleted key file":
        (barua_home / KEY_FILE).unlink()
    else:
        monkeypatch.setenv("BARUA_SECRET_KEY", Fernet.generate_key().decode())


@pytest.mark.parametrize("how", ["deleted key file", "another BARUA_SECRET_KEY"])
def test_a_save_without_secrets_keeps_the_unreadable_ones_as_they_were_saved(
    barua_home: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    store = SettingsStore()
    store.save(every_field())
    old_key = (barua_home / KEY_FILE).read_bytes()
    lose_the_key(how, barua_home, monkeypatch)
    loaded = store.load(skip_secrets=["password", "http_api_key"])
    assert loaded is not None
    removed = store.save(
        loaded.model_copy(update={"host": "mail.example.com"}),
        keep_unreadable=["password", "http_api_key"],
    )
    assert removed == ()
    assert store.unreadable_secrets() == ("password", "http_api_key")
    if how == "deleted key file":
        assert not (barua_home / KEY_FILE).exists(), "no key is made when nothing is encrypted"
    # The key found again reads every secret, with the change kept.
    monkeypatch.delenv("BARUA_SECRET_KEY", raising=False)
    (barua_home / KEY_FILE).write_bytes(old_key)
    assert store.load() == every_field().model_copy(update={"host": "mail.example.com"})


@pytest.mark.parametrize("how", ["deleted key file", "another BARUA_SECRET_KEY"])
def test_a_save_that_encrypts_a_secret_removes_those_the_key_cannot_read(
    barua_home: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    store = SettingsStore()
    store.save(every_field())
    old_key = (barua_home / KEY_FILE).read_bytes()
    lose_the_key(how, barua_home, monkeypatch)
    loaded = store.load(skip_secrets=["password", "http_api_key"])
    assert loaded is not None
    # The API key is given again; the password, saved with the old key, cannot stay beside it.
    removed = store.save(
        loaded.model_copy(update={"http_api_key": "bk_new"}), keep_unreadable=["password"]
    )
    assert removed == ("password",)
    assert store.unreadable_secrets() == ()
    now = store.load()
    assert now is not None and now.password is None and now.http_api_key is not None
    assert now.http_api_key.get_secret_value() == "bk_new"
    assert PASSWORD.encode() not in store.path.read_bytes()
    # The old key found again reads nothing: the file never holds secrets of two keys.
    monkeypatch.delenv("BARUA_SECRET_KEY", raising=False)
    (barua_home / KEY_FILE).write_bytes(old_key)
    assert store.unreadable_secrets() == ("http_api_key",)


def test_a_save_removes_nothing_it_was_not_asked_to_keep(barua_home: Path) -> None:
    store = SettingsStore()
    store.save(every_field())
    (barua_home / KEY_FILE).unlink()
    loaded = store.load(skip_secrets=["password", "http_api_key"])
    assert loaded is not None
    assert store.save(loaded.model_copy(update={"password": "new"})) == ()
    assert store.unreadable_secrets() == ()


def test_invalid_secret_key_in_environment_is_refused_on_save(
    barua_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BARUA_SECRET_KEY", "my-secret-password")
    with pytest.raises(StoreError) as caught:
        SettingsStore().save(smtp_settings())
    assert str(caught.value) == (
        "BARUA_SECRET_KEY is not a valid key: it must be 32 bytes in URL-safe base64 "
        '(44 characters ending in "=").'
    )
    assert "my-secret-password" not in f"{caught.value} {caught.value.hint}"
    assert not (barua_home / SETTINGS_FILE).exists()


# Atomic writes ----------------------------------------------------------------------------


def saved_before_a_failure(home: Path) -> bytes:
    SettingsStore().save(smtp_settings(sender_name="Before"))
    return (home / SETTINGS_FILE).read_bytes()


def assert_previous_settings_intact(home: Path, before: bytes) -> None:
    assert (home / SETTINGS_FILE).read_bytes() == before
    loaded = SettingsStore().load()
    assert loaded is not None
    assert loaded.sender_name == "Before"
    assert sorted(p.name for p in home.iterdir()) == [KEY_FILE, SETTINGS_FILE]


def test_a_failed_rename_leaves_the_previous_file_whole(
    barua_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = saved_before_a_failure(barua_home)

    def disk_full(src: object, dst: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as patch, pytest.raises(StoreError) as caught:
        patch.setattr(os, "replace", disk_full)
        SettingsStore().save(smtp_settings(sender_name="After"))
    assert str(caught.value) == (
        f"The settings cannot be saved to {barua_home / SETTINGS_FILE}: No space left on device."
    )
    assert caught.value.hint == (
        "Check that the folder belongs to the user running barua and that the disk is not "
        "full. The previously saved settings are unchanged."
    )
    assert isinstance(caught.value.__cause__, OSError)
    assert_previous_settings_intact(barua_home, before)


def test_a_failure_while_writing_leaves_the_previous_file_whole(
    barua_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = saved_before_a_failure(barua_home)

    def power_cut(fd: int) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(os, "fsync", power_cut)
        SettingsStore().save(smtp_settings(sender_name="After"))
    assert_previous_settings_intact(barua_home, before)


def test_a_failure_while_encoding_leaves_the_previous_file_whole(
    barua_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = saved_before_a_failure(barua_home)

    def broken(*args: object, **kwargs: object) -> str:
        raise ValueError("cannot encode")

    with monkeypatch.context() as patch, pytest.raises(ValueError, match="cannot encode"):
        patch.setattr(json, "dumps", broken)
        SettingsStore().save(smtp_settings(sender_name="After"))
    assert_previous_settings_intact(barua_home, before)


def test_invalid_settings_are_not_saved(barua_home: Path) -> None:
    before = saved_before_a_failure(barua_home)
    invalid = Settings.model_construct(host="smtp.example.com", port=0, email_address=USER)
    with pytest.raises(SettingsError) as caught:
        SettingsStore().save(invalid)
    assert caught.value.problems == {"port": "port must be between 1 and 65535"}
    assert_previous_settings_intact(barua_home, before)


def test_a_process_killed_before_the_rename_leaves_the_previous_file_whole(
    barua_home: Path,
) -> None:
    before = saved_before_a_failure(barua_home)
    code = (
        "import os\n"
        "from barua.settings import make_settings\n"
        "from barua.store import SettingsStore\n"
        "os.replace = lambda src, dst: os._exit(9)\n"  # dies as if the power went
        "SettingsStore().save(make_settings(host='smtp.example.com', "
        "email_address='a@example.com', sender_name='After'))\n"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 9
    assert (barua_home / SETTINGS_FILE).read_bytes() == before
    loaded = SettingsStore().load()
    assert loaded is not None
    assert loaded.sender_name == "Before"
    # The killed process left its temporary file; it is never read and holds no clear secret.
    assert_no_secret_in_clear(barua_home)


# Damaged or foreign files -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"format": 1, "settings": {', "it is not valid JSON (Expecting property name "
         "enclosed in double quotes at line 1, column 28)"),
        ("", "it is not valid JSON (Expecting value at line 1, column 1)"),
        (b"\xff\xfe{}", "it is not UTF-8 text"),
    ],
)  # fmt: skip
def test_a_damaged_file_is_named_with_a_hint(
    barua_home: Path, content: str | bytes, problem: str
) -> None:
    path = write_settings_file(barua_home, content)
    with pytest.raises(StoreError) as caught:
        SettingsStore().load()
    assert str(caught.value) == f"The saved settings file {path} is damaged: {problem}."
    assert caught.value.hint == "Move the file aside (or delete it) and save the settings again."


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
def test_an_unknown_file_is_named_with_a_hint(barua_home: Path, content: str) -> None:
    path = write_settings_file(barua_home, content)
    with pytest.raises(StoreError) as caught:
        SettingsStore().load()
    assert str(caught.value) == f"The saved settings file {path} is not in a format barua knows."
    assert caught.value.hint == "Move the file aside (or delete it) and save the settings again."


def test_a_file_from_a_newer_barua_asks_for_an_upgrade(barua_home: Path) -> None:
    path = write_settings_file(barua_home, '{"format": 2, "settings": {}}')
    with pytest.raises(StoreError) as caught:
        SettingsStore().load()
    assert str(caught.value) == (
        f"The saved settings file {path} was written by a newer version of barua (format 2)."
    )
    assert caught.value.hint == "Upgrade barua to read it."


@pytest.mark.parametrize("value", [f'"{PASSWORD}"', '{"plain": "x"}', '{"fernet": 1}'])
def test_a_secret_not_encrypted_by_barua_is_refused(barua_home: Path, value: str) -> None:
    path = write_settings_file(
        barua_home,
        '{"format": 1, "settings": {"host": "smtp.example.com", "username": "shop@example.com", '
        f'"password": {value}}}}}',
    )
    with pytest.raises(StoreError) as caught:
        SettingsStore().load()
    assert str(caught.value) == (
        f"The saved settings file {path} holds password unencrypted or damaged."
    )
    assert caught.value.hint == (
        "Remove password from the file and set it again with barua, which encrypts it."
    )
    assert PASSWORD not in f"{caught.value} {caught.value.hint}"


def test_a_damaged_token_reads_as_a_key_mismatch(barua_home: Path) -> None:
    SettingsStore().save(smtp_settings())
    document = settings_file(barua_home)
    document["settings"]["password"]["fernet"] = "gAAAAA" + "x" * 80
    write_settings_file(barua_home, json.dumps(document))
    with pytest.raises(StoreError, match=r"^The saved password cannot be decrypted: "):
        SettingsStore().load()


def test_stale_invalid_values_raise_settings_error_naming_the_file(barua_home: Path) -> None:
    path = write_settings_file(
        barua_home,
        '{"format": 1, "settings": {"host": "smtp.example.com", "port": 0, '
        '"email_address": "shop@example.com", "colour": "blue"}}',
    )
    with pytest.raises(SettingsError) as caught:
        SettingsStore().load()
    assert caught.value.problems == {
        "port": "port must be between 1 and 65535",
        "colour": "colour is not a setting barua knows",
    }
    assert caught.value.hint == (
        f"The saved settings in {path} hold this: correct them and save again."
    )


# Environment overrides --------------------------------------------------------------------


def test_every_setting_has_exactly_one_variable() -> None:
    assert sorted(ENV_OVERRIDES.values()) == sorted(Settings.model_fields)
    assert all(name.startswith("BARUA_") for name in ENV_OVERRIDES)


def test_environment_overrides_saved_values(
    barua_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    SettingsStore().save(smtp_settings(sender_name="Saved"))
    monkeypatch.setenv("BARUA_SMTP_HOST", "mail.example.org")
    monkeypatch.setenv("BARUA_SMTP_PORT", "2525")
    monkeypatch.setenv("BARUA_SMTP_SECURITY", "STARTTLS")
    monkeypatch.setenv("BARUA_SKIP_TLS_VERIFY", "yes")
    monkeypatch.setenv("BARUA_TIMEOUT", "7.5")
    monkeypatch.setenv("BARUA_SMTP_PASSWORD", "from the environment")
    monkeypatch.setenv("BARUA_SENDER_NAME", "")  # blank: the saved value stays

    effective = SettingsStore().load_effective()
    assert effective is not None
    assert (effective.host, effective.port, effective.security) == (
        "mail.example.org",
        2525,
        "starttls",
    )
    assert effective.skip_tls_verify is True
    assert effective.timeout == 7.5
    assert effective.sender_name == "Saved"
    assert effective.username == USER
    assert effective.password is not None
    assert effective.password.get_secret_value() == "from the environment"
    assert SettingsStore().load() == smtp_settings(sender_name="Saved")  # the file is untouched


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
    SettingsStore().save(smtp_settings())
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        SettingsStore().load_effective()
    assert str(caught.value) == message
    assert caught.value.hint == f"Correct the environment variable {variable}."
    assert "Pässwörd" not in f"{caught.value} {caught.value.hint}"


def test_several_bad_values_are_reported_together(barua_home: Path) -> None:
    SettingsStore().save(smtp_settings())
    with pytest.raises(SettingsError) as caught:
        SettingsStore().load_effective(
            environ={"BARUA_SMTP_PORT": "x", "BARUA_PROTOCOL": "ftp", "BARUA_TIMEOUT": "0"}
        )
    assert caught.value.problems == {
        "protocol": "BARUA_PROTOCOL: protocol must be one of 'smtp' or 'http'",
        "port": "BARUA_SMTP_PORT: port must be a whole number",
        "timeout": "BARUA_TIMEOUT: timeout must be more than 0 and at most 600 seconds",
    }
    assert caught.value.hint == (
        "Correct the environment variables BARUA_PROTOCOL, BARUA_SMTP_PORT, BARUA_TIMEOUT."
    )


def test_a_combination_made_invalid_by_the_environment_points_at_both(barua_home: Path) -> None:
    SettingsStore().save(smtp_settings())
    with pytest.raises(SettingsError) as caught:
        SettingsStore().load_effective(environ={"BARUA_PROTOCOL": "http"})
    assert caught.value.problems == {
        "http_service_url": "http_service_url is required with the HTTP protocol",
        "reply_to": "reply_to is required with the HTTP protocol: the service sends from its "
        "own address, so replies must go to yours",
    }
    assert caught.value.hint == (
        f"The saved settings in {barua_home / SETTINGS_FILE} hold this: correct them and "
        "save again."
    )


def test_settings_can_come_from_the_environment_alone(barua_home: Path) -> None:
    environ = {
        "BARUA_PROTOCOL": "http",
        "BARUA_HTTP_SERVICE_URL": "https://relay.example.com/",
        "BARUA_HTTP_API_KEY": API_KEY,
        "BARUA_REPLY_TO": "owner@example.com",
        "BARUA_HOME": str(barua_home),  # not an override: ignored
    }
    settings = SettingsStore().load_effective(environ=environ)
    assert settings == make_settings(
        protocol="http",
        http_service_url="https://relay.example.com",
        http_api_key=API_KEY,
        reply_to="owner@example.com",
    )
    assert not barua_home.exists()  # reading never creates files or a key


def test_incomplete_environment_alone_says_what_is_missing(barua_home: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        SettingsStore().load_effective(environ={"BARUA_SMTP_USERNAME": "shop"})
    assert caught.value.problems == {
        "host": "host is required with the SMTP protocol",
        "email_address": 'email_address is required because username "shop" is not an '
        "email address",
    }
    assert caught.value.hint == (
        f"Nothing is saved in {barua_home / SETTINGS_FILE} yet: save the settings, or give "
        "the missing values with the BARUA_* environment variables."
    )


def test_a_secret_given_by_the_environment_needs_no_key(barua_home: Path) -> None:
    # A container may mount the saved settings without the key file and pass the password.
    SettingsStore().save(smtp_settings())
    (barua_home / KEY_FILE).unlink()
    effective = SettingsStore().load_effective(environ={"BARUA_SMTP_PASSWORD": "from env"})
    assert effective is not None
    assert effective.password is not None
    assert effective.password.get_secret_value() == "from env"
    with pytest.raises(StoreError, match=r"^The secret key is missing"):
        SettingsStore().load_effective(environ={})


def test_only_the_listed_variables_are_read() -> None:
    assert env_values({"BARUA_HOME": "/x", "BARUA_SECRET_KEY": "k", "SMTP_HOST": "h"}) == {}
