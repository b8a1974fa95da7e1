"""Key handling and encryption, on real files under the test's BARUA_HOME."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from barua.errors import StoreError
from barua.secrets import KEY_FILE, decrypt, encrypt, load_key, write_private_file
from tests.conftest import PASSWORD

GENERATE = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_encrypt_then_decrypt_gives_the_text_back() -> None:
    key = Fernet.generate_key()
    token = encrypt(key, PASSWORD)
    assert token.isascii()
    assert PASSWORD not in token
    assert decrypt(key, token, field="password") == PASSWORD


def test_same_text_encrypts_differently_each_time() -> None:
    # Fernet adds a random IV: equal passwords must not be recognisable in saved files.
    key = Fernet.generate_key()
    assert encrypt(key, PASSWORD) != encrypt(key, PASSWORD)


def test_key_file_is_created_once_readable_by_owner_only(barua_home: Path) -> None:
    old_umask = os.umask(0)  # even a permissive umask must not widen the modes
    try:
        key = load_key(barua_home, create=True)
    finally:
        os.umask(old_umask)
    path = barua_home / KEY_FILE
    assert mode(path) == 0o600
    assert mode(barua_home) == 0o700
    assert path.read_bytes().strip() == key
    before = path.stat()

    assert load_key(barua_home, create=True) == key
    assert load_key(barua_home, create=False) == key
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert sorted(p.name for p in barua_home.iterdir()) == [KEY_FILE]  # no temporary left


def test_threads_racing_to_create_the_key_get_one_key(barua_home: Path) -> None:
    barrier = threading.Barrier(16)
    keys: list[bytes] = []

    def create() -> None:
        barrier.wait()
        keys.append(load_key(barua_home, create=True))

    threads = [threading.Thread(target=create) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 16
    assert set(keys) == {(barua_home / KEY_FILE).read_bytes().strip()}
    assert sorted(p.name for p in barua_home.iterdir()) == [KEY_FILE]


def test_processes_racing_to_create_the_key_get_one_key(barua_home: Path, tmp_path: Path) -> None:
    go = tmp_path / "go"
    code = (
        "import os, sys, time\n"
        "from pathlib import Path\n"
        "from barua.secrets import load_key\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.001)\n"
        f"sys.stdout.write(load_key(Path({str(barua_home)!r}), create=True).decode())\n"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    go.touch()
    keys = {process.communicate(timeout=30)[0] for process in processes}
    assert all(process.returncode == 0 for process in processes)
    assert keys == {(barua_home / KEY_FILE).read_text().strip()}
    assert sorted(p.name for p in barua_home.iterdir()) == [KEY_FILE]


def test_missing_key_without_create_is_refused_and_nothing_is_created(barua_home: Path) -> None:
    with pytest.raises(StoreError) as caught:
        load_key(barua_home, create=False)
    assert str(caught.value) == (
        f"The secret key is missing: {barua_home / KEY_FILE} does not exist "
        "and BARUA_SECRET_KEY is not set."
    )
    assert caught.value.hint == (
        "Restore the key file or BARUA_SECRET_KEY the settings were saved with, "
        "or set the passwords again."
    )
    assert not barua_home.exists()


def test_key_from_environment_is_used_instead_of_a_key_file(barua_home: Path) -> None:
    key = Fernet.generate_key()
    env_key = f" {key.decode()}\n"  # as pasted: spaces, newline
    assert load_key(barua_home, create=True, env_key=env_key) == key
    assert load_key(barua_home, create=False, env_key=env_key) == key
    assert not barua_home.exists()


@pytest.mark.parametrize(
    "value",
    [
        "",
        "not-a-key",
        Fernet.generate_key().decode()[:-1],  # padding lost
        Fernet.generate_key().decode()[:-2] + "!=",  # a character outside the alphabet
        Fernet.generate_key().decode()[:-2] + "é=",
        "0123456789abcdef0123456789abcdef",  # 32 characters, but not base64 of 32 bytes
    ],
)
def test_invalid_key_in_environment_is_refused_without_echoing_it(
    barua_home: Path, value: str
) -> None:
    env_key = value
    with pytest.raises(StoreError) as caught:
        load_key(barua_home, create=True, env_key=env_key)
    assert str(caught.value) == (
        "BARUA_SECRET_KEY is not a valid key: it must be 32 bytes in URL-safe base64 "
        '(44 characters ending in "=").'
    )
    assert caught.value.hint == (
        f"Generate one with: {GENERATE} — and keep it: passwords saved with one key "
        "cannot be read with another."
    )
    assert not barua_home.exists()


def test_the_hinted_command_makes_a_key_barua_accepts(barua_home: Path) -> None:
    code = GENERATE.split('"')[1]
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    env_key = output
    assert load_key(barua_home, create=False, env_key=env_key) == output.strip().encode()


def test_damaged_key_file_is_refused(barua_home: Path) -> None:
    barua_home.mkdir()
    (barua_home / KEY_FILE).write_text("half a key\n")
    with pytest.raises(StoreError) as caught:
        load_key(barua_home, create=True)
    assert str(caught.value) == f"The key file {barua_home / KEY_FILE} does not hold a valid key."
    assert caught.value.hint == (
        "Restore it from a backup, or set BARUA_SECRET_KEY. Deleting it makes barua create "
        "a new key, and saved passwords must then be set again."
    )
    assert (barua_home / KEY_FILE).read_text() == "half a key\n"  # never overwritten


@pytest.mark.parametrize("field", ["password", "http_api_key"])
def test_wrong_key_names_the_field_and_the_way_out(field: str) -> None:
    token = encrypt(Fernet.generate_key(), PASSWORD)
    with pytest.raises(StoreError) as caught:
        decrypt(Fernet.generate_key(), token, field=field)
    assert str(caught.value) == (
        f"The saved {field} cannot be decrypted: the secret key differs from the one "
        "it was saved with."
    )
    assert caught.value.hint == (
        "Restore the key it was saved with (the file secret.key in the barua folder, "
        f"or BARUA_SECRET_KEY), or set the {field} again."
    )
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


@pytest.mark.parametrize("token", ["", "gAAAA-not-a-token", "ünïcode"])
def test_damaged_token_is_a_store_error(token: str) -> None:
    with pytest.raises(StoreError, match=r"^The saved password cannot be decrypted"):
        decrypt(Fernet.generate_key(), token, field="password")


def test_write_private_file_without_replace_keeps_the_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "private" / "file"
    assert write_private_file(path, b"first", replace=False) is True
    assert write_private_file(path, b"second", replace=False) is False
    assert path.read_bytes() == b"first"
    assert write_private_file(path, b"third", replace=True) is True
    assert path.read_bytes() == b"third"
    assert mode(path) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["file"]
