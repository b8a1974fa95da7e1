"""barua serve and barua relay serve over real TLS on 127.0.0.1: HTTPS with the certificate
given, nothing older than TLS 1.2, a renewed certificate used without a restart, and plain
HTTP refused off loopback with one clear error."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.certs import CertFiles, make_certificates

BARUA = str(Path(sys.executable).with_name("barua"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def barua(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BARUA, *args], capture_output=True, text=True, timeout=60, check=False)


@contextmanager
def running(*args: str, port: int) -> Iterator[subprocess.Popen[str]]:
    """``barua ARGS --port PORT`` until the block ends, once it answers connections."""
    process = subprocess.Popen(
        [BARUA, *args, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    out, errors = process.communicate(timeout=5)
                    raise AssertionError(f"barua did not start: {out}{errors}") from None
                time.sleep(0.05)
        yield process
    finally:
        process.terminate()
        process.communicate(timeout=30)


def trusting(ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


def peer_certificate(port: int, ca: Path) -> bytes:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        trusting(ca).wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        found = tls.getpeercert(binary_form=True)
        assert found is not None
        return found


def pem_der(path: Path) -> bytes:
    return ssl.PEM_cert_to_DER_cert(path.read_text())


@pytest.fixture
def served_certs(tmp_path: Path) -> tuple[CertFiles, Path, Path]:
    """A certificate and its key copied where the server reads them (renewals replace them)."""
    made = make_certificates(tmp_path / "first")
    cert, key = tmp_path / "live" / "fullchain.pem", tmp_path / "live" / "privkey.pem"
    cert.parent.mkdir()
    shutil.copy(made.cert, cert)
    shutil.copy(made.key, key)
    return made, cert, key


def test_the_web_app_answers_over_https_with_the_certificate_given(
    served_certs: tuple[CertFiles, Path, Path],
) -> None:
    made, cert, key = served_certs
    port = free_port()
    args = ("serve", "--no-worker", "--certfile", str(cert), "--keyfile", str(key))
    with running(*args, port=port):
        answer = httpx.get(f"https://127.0.0.1:{port}/login", verify=trusting(made.ca))
        assert answer.status_code == 200
        assert answer.headers["strict-transport-security"]
        with pytest.raises(httpx.ConnectError):  # a client without the CA trusts nothing
            httpx.get(f"https://127.0.0.1:{port}/login")
        with pytest.raises(httpx.RemoteProtocolError):  # no plain HTTP on the HTTPS port
            httpx.get(f"http://127.0.0.1:{port}/login")


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
def test_tls_older_than_1_2_is_refused(served_certs: tuple[CertFiles, Path, Path]) -> None:
    made, cert, key = served_certs
    port = free_port()
    with running("serve", "--no-worker", "--certfile", str(cert), "--keyfile", str(key),
                 port=port):  # fmt: skip
        old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old.load_verify_locations(made.ca)
        old.minimum_version = ssl.TLSVersion.TLSv1
        old.maximum_version = ssl.TLSVersion.TLSv1_1
        old.set_ciphers("DEFAULT:@SECLEVEL=0")  # the client offers TLS 1.1: the server says no
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            pytest.raises(ssl.SSLError) as refused,
        ):
            old.wrap_socket(raw, server_hostname="localhost")
        # The hello went out (the client did not refuse itself) and the server hung up.
        assert "NO_PROTOCOLS_AVAILABLE" not in str(refused.value)
        assert isinstance(refused.value, ssl.SSLEOFError) or "PROTOCOL_VERSION" in str(
            refused.value
        )
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            recent = trusting(made.ca)
            recent.minimum_version = recent.maximum_version = version
            with (
                socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
                recent.wrap_socket(raw, server_hostname="localhost") as tls,
            ):
                assert tls.version() == version.name.replace("_", ".")


def test_a_renewed_certificate_is_used_without_a_restart(
    served_certs: tuple[CertFiles, Path, Path], tmp_path: Path
) -> None:
    first, cert, key = served_certs
    port = free_port()
    with running("serve", "--no-worker", "--certfile", str(cert), "--keyfile", str(key),
                 port=port) as process:  # fmt: skip
        assert peer_certificate(port, first.ca) == pem_der(first.cert)
        with httpx.Client(verify=trusting(first.ca)) as kept:
            assert kept.get(f"https://127.0.0.1:{port}/login").status_code == 200
            renewed = make_certificates(tmp_path / "renewed")
            # As certbot and Caddy do: the new files are written beside, then renamed over.
            for source, target in ((renewed.key, key), (renewed.cert, cert)):
                shutil.copy(source, target.with_suffix(".new"))
                os.replace(target.with_suffix(".new"), target)
            assert peer_certificate(port, renewed.ca) == pem_der(renewed.cert)
            with pytest.raises(ssl.SSLCertVerificationError):
                peer_certificate(port, first.ca)
            # A connection opened before the renewal goes on with the certificate it has.
            assert kept.get(f"https://127.0.0.1:{port}/login").status_code == 200
        assert process.poll() is None, "the same process, never restarted"


def test_a_half_written_renewal_keeps_the_previous_certificate(
    served_certs: tuple[CertFiles, Path, Path], tmp_path: Path
) -> None:
    first, cert, key = served_certs
    port = free_port()
    with running("serve", "--no-worker", "--certfile", str(cert), "--keyfile", str(key),
                 port=port) as process:  # fmt: skip
        renewed = make_certificates(tmp_path / "renewed")
        shutil.copy(renewed.cert, cert)  # the new certificate beside the old key
        assert peer_certificate(port, first.ca) == pem_der(first.cert)
        shutil.copy(renewed.key, key)
        assert peer_certificate(port, renewed.ca) == pem_der(renewed.cert)
    _, errors = process.communicate()
    assert "new connections still get the previous one" in errors
    assert "Traceback" not in errors


def test_the_relay_answers_over_https(served_certs: tuple[CertFiles, Path, Path]) -> None:
    made, cert, key = served_certs
    configured = barua("relay", "settings", "--sending-address", "noreply@relay.example")
    assert configured.returncode == 0, configured.stderr
    port = free_port()
    with running("relay", "serve", "--no-worker", "--certfile", str(cert), "--keyfile",
                 str(key), port=port):  # fmt: skip
        answer = httpx.get(f"https://127.0.0.1:{port}/v1/health", verify=trusting(made.ca))
        assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("command", [("serve",), ("relay", "serve")])
def test_plain_http_off_loopback_is_refused(command: tuple[str, ...]) -> None:
    refused = barua(*command, "--host", "0.0.0.0", "--port", str(free_port()))
    assert refused.returncode == 2
    lines = refused.stderr.splitlines()
    assert lines == [
        "error: --host 0.0.0.0 would let other machines reach barua without encryption",
        "hint: Give --certfile and --keyfile to answer over HTTPS, or name the reverse proxy "
        "that adds HTTPS (Caddy, nginx) with --forwarded-allow-ips, or keep the default "
        "--host 127.0.0.1.",
    ]


def test_the_listening_mistakes_each_get_one_clear_error(tmp_path: Path) -> None:
    port = str(free_port())
    keyless = barua("serve", "--keyfile", str(tmp_path / "key.pem"), "--port", port)
    assert keyless.returncode == 2
    assert keyless.stderr.startswith("error: --keyfile needs --certfile\n")
    missing = barua("serve", "--certfile", str(tmp_path / "nothing.pem"), "--port", port)
    assert missing.returncode == 2
    assert missing.stderr.startswith(
        f"error: --certfile {tmp_path / 'nothing.pem'}: the certificate cannot be used: "
    )
    assert "hint: Give the certificate chain" in missing.stderr
    (tmp_path / "garbage.pem").write_text("not a certificate\n")
    garbage = barua("relay", "serve", "--certfile", str(tmp_path / "garbage.pem"), "--port", port)
    assert garbage.returncode == 2
    assert "the certificate cannot be used" in garbage.stderr
    proxy = barua("serve", "--host", "0.0.0.0", "--forwarded-allow-ips", "10.0.0.5,proxy",
                  "--port", port)  # fmt: skip
    assert proxy.returncode == 2
    assert proxy.stderr.startswith(
        'error: --forwarded-allow-ips: "proxy" is not an IP address or network\n'
    )
    for run in (keyless, missing, garbage, proxy):
        assert "Traceback" not in run.stderr
