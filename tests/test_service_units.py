"""barua service install: the systemd units it writes pass `systemd-analyze verify`, run as
an unprivileged user, restart on failure, stop gracefully, and their command line works."""

from __future__ import annotations

import configparser
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.test_serving_https import barua, free_port


def unit(path: Path) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path)
    return parser


@pytest.mark.parametrize(("service", "command"), [
    ("web", ["serve", "--no-worker"]),
    ("worker", ["worker", "--health-port", "9101"]),
    ("relay", ["relay", "serve"]),
])  # fmt: skip
def test_each_unit_passes_systemd_analyze_verify(
    service: str, command: list[str], tmp_path: Path
) -> None:
    written = barua("service", "install", service, "--output", str(tmp_path))
    assert written.returncode == 0, written.stderr
    path = tmp_path / f"barua-{service}.service"
    assert f"wrote {path}" in written.stdout
    assert f"systemctl enable --now barua-{service}" in written.stdout
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing: tests/install-systemd installs it")
    verified = subprocess.run(
        ["systemd-analyze", "verify", str(path)], capture_output=True, text=True, check=False
    )
    assert verified.returncode == 0, verified.stderr
    assert verified.stderr == ""
    found = unit(path)["Service"]
    assert found["User"] == "barua" and found["Group"] == "barua"
    assert found["Restart"] == "on-failure"
    assert found["KillSignal"] == "SIGTERM"
    assert found["KillMode"] == "mixed"  # the worker passes SIGTERM on to its processes
    assert int(found["TimeoutStopSec"]) >= (300 if service == "worker" else 30)
    assert found["Environment"] == "BARUA_HOME=/var/lib/barua"
    assert found["EnvironmentFile"] == "-/etc/barua/barua.env"
    assert shlex.split(found["ExecStart"])[-len(command) :] == command


def test_arguments_after_the_dashes_go_to_the_command(tmp_path: Path) -> None:
    written = barua("service", "install", "web", "--output", str(tmp_path), "--user", "duka",
                    "--", "--host", "0.0.0.0", "--allowed-host", "mail.example.com",
                    "--certfile", "/etc/ssl/duka 100%.pem")  # fmt: skip
    assert written.returncode == 0, written.stderr
    found = unit(tmp_path / "barua-web.service")["Service"]
    assert found["User"] == "duka"
    # systemd reads %% as % and unquotes the argument with a space.
    assert found["ExecStart"].endswith(
        "serve --no-worker --host 0.0.0.0 --allowed-host mail.example.com "
        "--certfile '/etc/ssl/duka 100%%.pem'"
    )
    verified = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "barua-web.service")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr


def test_the_workers_command_line_runs_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    written = barua("service", "install", "worker", "--output", str(tmp_path),
                    "--", "--health-port", str(port))  # fmt: skip
    assert written.returncode == 0, written.stderr
    found = unit(tmp_path / "barua-worker.service")["Service"]
    command = shlex.split(found["ExecStart"])
    # No email settings yet: the worker says so and stops, which systemd restarts on.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "hint:" in errors and "Traceback" not in errors
    assert barua("settings", "set", "--host", "127.0.0.1", "--port", "2525", "--security",
                 "none", "--username", "shop@example.com").returncode == 0  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, process.stderr
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)  # what systemctl stop sends
        _, errors = process.communicate(timeout=int(found["TimeoutStopSec"]))
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, errors
    assert "SIGTERM: finishing the messages in flight" in errors


def test_a_unit_that_cannot_be_written_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    refused = barua("service", "install", "relay", "--output", str(tmp_path / "a-file"))
    assert refused.returncode == 2
    assert refused.stderr.startswith(f"error: cannot write {tmp_path / 'a-file'}")
    assert "--output DIR" in refused.stderr
    bad_user = barua("service", "install", "web", "--output", str(tmp_path), "--user", "root;x")
    assert bad_user.returncode == 2
    assert bad_user.stderr.startswith('error: --user "root;x" is not a user name')
    control = barua("service", "install", "web", "--output", str(tmp_path), "--", "a\nb")
    assert control.returncode == 2
    assert "cannot go into a unit file" in control.stderr
