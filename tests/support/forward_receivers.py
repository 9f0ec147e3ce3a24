"""Real receivers for the forwarding tests and benchmarks: a test CA, an HTTPS receiver on
loopback (answering as a collector, Splunk HEC, Slack or Teams would, with scripted
outages, redirects and sign-in pages) and a real rsyslog daemon over TLS
(`tests.support.cef` reads back the CEF they wrote)."""

from __future__ import annotations

import gzip
import http.server
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

RSYSLOGD = os.environ.get("RSYSLOGD") or shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
"""Debian's rsyslogd; RSYSLOGD names another one (or, in a test of this, a missing one)."""


# --- a test CA ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceiverCA:
    ca_file: Path
    cert_file: Path
    key_file: Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_ca(folder: Path) -> ReceiverCA:
    """A CA and a server certificate for `localhost` and 127.0.0.1, valid for a day."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC) - timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("forwarding test CA"))
        .issuer_name(_name("forwarding test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = ReceiverCA(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    paths.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    paths.key_file.chmod(0o600)
    return paths


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- HTTPS receiver ----------------------------------------------------------------------

Reply = tuple[int, dict[str, str]] | tuple[int, dict[str, str], bytes] | str
"""(status, headers): a 2xx stores and acknowledges as the receiver's kind does, another
status refuses; (status, headers, body): exactly that answer, nothing stored (a proxy or
sign-in page answering for the receiver); "drop" / "store-and-drop"."""

ACKS: dict[str, tuple[int, str, bytes]] = {
    "collector": (200, "application/json", b'{"text":"Success","code":0}'),  # HEC's answer
    "slack": (200, "text/html; charset=utf-8", b"ok"),  # Slack's incoming webhooks
    "teams": (202, "", b""),  # Teams Workflows' webhook trigger
}
"""How each kind of real receiver acknowledges a POST it took."""
SIGN_IN_PAGE = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body></body></html>"


@dataclass
class HttpsReceiver:
    """An HTTPS server on loopback that stores each acknowledged request's documents.

    `script(n, body)` decides the reply to the n-th POST (from 1), see `Reply`; `kind`
    (`collector`, `slack`, `teams`) is whose acknowledgement it gives. A GET (a redirect
    followed the way browsers do) gets a 200 sign-in page. Every request is recorded."""

    ca: ReceiverCA
    script: Callable[[int, bytes], Reply] = lambda n, body: (200, {})
    kind: str = "collector"
    port: int = field(default_factory=free_port)
    documents: list[Any] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    server: http.server.ThreadingHTTPServer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/ingest"

    def start(self) -> HttpsReceiver:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def record(self, body: bytes) -> int:
                with receiver.lock:
                    receiver.requests.append(
                        {"method": self.command, "path": self.path,
                         "headers": dict(self.headers), "body": body,
                         "at": int(time.time())}  # a receiver checks freshness on arrival
                    )  # fmt: skip
                    return sum(r["method"] == "POST" for r in receiver.requests)

            def answer(self, status: int, headers: dict[str, str], payload: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self.record(b"")
                self.answer(200, {"Content-Type": "text/html"}, SIGN_IN_PAGE)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                reply = receiver.script(self.record(body), body)
                stored = reply == "store-and-drop" or (
                    isinstance(reply, tuple) and len(reply) == 2 and 200 <= reply[0] < 300
                )
                if stored:
                    with receiver.lock:
                        receiver.documents.extend(parse_documents(body))
                if isinstance(reply, str):
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if len(reply) == 3:
                    self.answer(*reply)
                elif stored:
                    status, content_type, payload = ACKS[receiver.kind]
                    typed = {"Content-Type": content_type} if content_type else {}
                    self.answer(status, {**typed, **reply[1]}, payload)
                else:
                    self.answer(reply[0], reply[1], b'{"text":"no"}')

        server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.ca.cert_file, self.ca.key_file)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self.server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self) -> HttpsReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def parse_documents(body: bytes) -> list[Any]:
    """NDJSON lines, or HEC events back to back (one per line as the forwarder writes them)."""
    return [json.loads(line) for line in body.splitlines() if line.strip()]


# --- rsyslog -----------------------------------------------------------------------------

RSYSLOG_CONF = """
global(
  workDirectory="{work}"
  maxMessageSize="64k"
  parser.escapeControlCharactersOnReceive="off"
  defaultNetstreamDriver="gtls"
  defaultNetstreamDriverCAFile="{ca}"
  defaultNetstreamDriverCertFile="{cert}"
  defaultNetstreamDriverKeyFile="{key}"
)
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon"
       maxSessions="1000")
template(name="raw" type="string" string="%msg%\\n")
ruleset(name="forwarded") {{
  action(type="omfile" file="{out}" template="raw" flushOnTXEnd="on" asyncWriting="off")
}}
input(type="imtcp" port="{port}" address="127.0.0.1" ruleset="forwarded")
"""


@dataclass
class Rsyslog:
    """Debian's rsyslogd with its own config: TLS on a loopback port, every message's MSG
    written to `out` one per line."""

    folder: Path
    ca: ReceiverCA
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def out(self) -> Path:
        return self.folder / "received.log"

    @property
    def url(self) -> str:
        return f"syslog+tls://127.0.0.1:{self.port}"

    def start(self) -> Rsyslog:
        work = self.folder / "work"
        work.mkdir(parents=True, exist_ok=True)
        conf = self.folder / "rsyslog.conf"
        conf.write_text(
            RSYSLOG_CONF.format(
                work=work, ca=self.ca.ca_file, cert=self.ca.cert_file, key=self.ca.key_file,
                out=self.out, port=self.port,
            )
        )  # fmt: skip
        self.process = subprocess.Popen(
            [RSYSLOGD, "-n", "-f", str(conf), "-i", str(self.folder / "rsyslogd.pid")],
            stdout=subprocess.DEVNULL,
            stderr=open(self.folder / "rsyslogd.err", "ab"),  # noqa: SIM115
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"rsyslogd exited: {(self.folder / 'rsyslogd.err').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        errors = (self.folder / "rsyslogd.err").read_text(errors="replace")
        if "lmnsd_gtls" in errors:
            raise RuntimeError(
                "rsyslogd cannot load its TLS driver lmnsd_gtls: install Debian's "
                "rsyslog-gnutls (scripts/test does, as root)"
            )
        raise RuntimeError(f"rsyslogd did not start listening: {errors.strip()[-500:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def lines(self) -> list[str]:
        if not self.out.exists():
            return []
        return self.out.read_text(encoding="utf-8").splitlines()

    def wait_for(self, count: int, timeout: float = 30) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.lines()
            if len(lines) >= count:
                return lines
            time.sleep(0.1)
        return self.lines()

    def __enter__(self) -> Rsyslog:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def rsyslog_available() -> bool:
    return os.access(RSYSLOGD, os.X_OK)


def need_rsyslog() -> None:
    """Skip the calling test without rsyslogd; under CI (CI=true) fail it instead: CI runs
    everything (the same rule as `tests.support.runtime.runtime_python`)."""
    if rsyslog_available():
        return
    import pytest

    reason = (
        f"rsyslogd is missing ({RSYSLOGD}): install Debian's rsyslog and rsyslog-gnutls "
        "(scripts/test does, as root)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)
