"""How batches reach a receiver: a rotating file, HTTPS (Splunk HEC or plain NDJSON, gzip
optional, and chat webhooks), or syslog (RFC 5424 over TLS with RFC 5425 octet counting,
TCP, or UDP). `send` returns only once the receiver has acknowledged the whole batch, and
otherwise raises one of the three errors of `ingest.forward.acceptance` that tell delivery
what to do next.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from urllib.parse import urlparse

import orjson
import requests

from ingest.forward.acceptance import Refused, TransientError, check_acceptance
from ingest.forward.config import Destination
from ingest.forward.formats import iso_millis
from ingest.forward.messages import Message, Search
from ingest.forward.notify import signed_webhook
from ingest.forward.private_files import open_private, private_folders

UDP_MAX_BYTES = 65_000  # a longer datagram cannot be sent at all (RFC 5426 allows truncation)
HEC_SOURCETYPE = "mimecast:archive:search"
APP_NAME = "mimecast-search"


@dataclass(frozen=True, slots=True)
class Outgoing:
    message: Message
    body: bytes


class Transport(Protocol):
    def send(self, batch: Sequence[Outgoing]) -> None: ...

    def close(self) -> None: ...


# --- file --------------------------------------------------------------------------------


class FileTransport:
    """Appends one line per message and fsyncs before acknowledging. Rotates between
    batches at `rotate_bytes` (`out.ndjson` → `out.ndjson.1` …, `keep` files). A line cut
    short by a crash was never acknowledged, so it is cut off when the file is opened."""

    def __init__(self, destination: Destination) -> None:
        self.path = destination.path
        self.rotate_bytes, self.keep = destination.rotate_bytes, destination.keep
        private_folders(self.path.parent)
        self._drop_partial_line()
        self.handle = open_private(self.path)  # held for the transport's life

    def _drop_partial_line(self) -> None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        with open(self.path, "rb+") as handle:
            size = handle.seek(0, os.SEEK_END)
            end = size
            while end > 0:
                start = max(0, end - 65536)
                handle.seek(start)
                chunk = handle.read(end - start)
                cut = chunk.rfind(b"\n")
                if cut >= 0:
                    end = start + cut + 1
                    break
                end = start
            if end != size:
                handle.truncate(end)

    def _rotate(self) -> None:
        self.handle.close()
        for index in range(self.keep - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{index}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{index + 1}"))
        self.path.replace(self.path.with_name(f"{self.path.name}.1"))  # keeps its 0600
        self.handle = open_private(self.path)

    def send(self, batch: Sequence[Outgoing]) -> None:
        if self.handle.tell() >= self.rotate_bytes:
            self._rotate()
        self.handle.write(b"".join(item.body + b"\n" for item in batch))
        self.handle.flush()
        os.fsync(self.handle.fileno())

    def close(self) -> None:
        self.handle.close()


# --- HTTPS -------------------------------------------------------------------------------


def _item_time(message: Message) -> datetime:
    item = message.item
    return item.create_time if isinstance(item, Search) else item.created_at


def acceptance_kind(destination: Destination) -> str:
    """Whose acknowledgement an answer must be (see `ingest.forward.acceptance`)."""
    if destination.format in ("slack", "teams", "webhook"):
        return destination.format
    return "hec" if destination.protocol == "hec" else "ndjson"


class HttpTransport:
    """Batches as one POST: NDJSON lines, or Splunk HEC events (`{"time", "event"}` objects
    back to back, `Authorization: Splunk <token>`)."""

    def __init__(self, destination: Destination) -> None:
        self.destination = destination
        self.session = requests.Session()
        self.acceptance = acceptance_kind(destination)
        # passed with every request: a session-level `verify` loses to REQUESTS_CA_BUNDLE
        # in the environment (psf/requests#3829)
        self.verify: str | bool = destination.ca_file or destination.verify
        if destination.cert_file:
            self.session.cert = (destination.cert_file, destination.key_file)  # type: ignore[assignment]
        headers = {"Content-Type": "application/x-ndjson", "User-Agent": APP_NAME}
        if destination.protocol == "hec":
            headers["Authorization"] = f"Splunk {destination.token}"
            headers["Content-Type"] = "application/json"
        elif destination.token:
            headers["Authorization"] = f"Bearer {destination.token}"
        if destination.gzip:
            headers["Content-Encoding"] = "gzip"
        self.session.headers.update(headers)

    def body(self, batch: Sequence[Outgoing]) -> bytes:
        if self.destination.protocol == "hec":
            raw_json = self.destination.format != "cef"
            lines = [
                orjson.dumps(
                    {
                        "time": round(_item_time(item.message).timestamp(), 3),
                        "source": APP_NAME,
                        "sourcetype": HEC_SOURCETYPE,
                        "event": orjson.Fragment(item.body) if raw_json else item.body.decode(),
                    }
                )
                for item in batch
            ]
            data = b"\n".join(lines)
        else:
            data = b"".join(item.body + b"\n" for item in batch)
        return gzip.compress(data, compresslevel=5) if self.destination.gzip else data

    def post(self, data: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            response = self.session.post(
                self.destination.url,
                data=data,
                headers=headers,
                timeout=self.destination.timeout,
                verify=self.verify,
                allow_redirects=False,  # a redirect is a refusal, never followed
            )
        except requests.exceptions.SSLError:
            raise Refused(
                "TLS verification failed: check ca_file and the receiver's certificate"
            ) from None
        except requests.RequestException as exc:
            raise TransientError(f"{type(exc).__name__} talking to the receiver") from None
        check_acceptance(response, self.acceptance)

    def send(self, batch: Sequence[Outgoing]) -> None:
        self.post(self.body(batch))

    def close(self) -> None:
        self.session.close()


class WebhookTransport(HttpTransport):
    """Chat and generic webhooks: one POST per alert; the generic one signed per request."""

    def send(self, batch: Sequence[Outgoing]) -> None:
        for item in batch:
            headers = {"Content-Type": "application/json"}
            data = item.body
            if self.destination.format == "webhook":
                assert self.destination.secret is not None
                data, headers = signed_webhook(
                    item.message.item,  # type: ignore[arg-type]
                    self.destination.secret,
                    int(time.time()),
                    item.message.id,  # the forward id: what receivers deduplicate on
                )
            self.post(data, headers)


# --- syslog ------------------------------------------------------------------------------


def syslog_frame(
    body: bytes, moment: datetime, *, pri: int, hostname: str, msgid: str, counted: bool
) -> bytes:
    """An RFC 5424 message; with `counted`, RFC 5425/6587 octet-counting (`LEN SP MSG`)."""
    header = f"<{pri}>1 {iso_millis(moment)} {hostname} {APP_NAME} - {msgid} - ".encode()
    message = header + body
    return b"%d %b" % (len(message), message) if counted else message


class SyslogTransport:
    """RFC 5424 over TLS (RFC 5425), TCP or UDP. Syslog has no acknowledgements, so over TLS
    and TCP each batch gets its own connection, which is closed after the batch: the batch
    counts as delivered only when the receiver has read to the end and closed its side too.
    UDP is fire and forget (for a relay on the same machine)."""

    def __init__(self, destination: Destination) -> None:
        self.destination = destination
        parsed = urlparse(destination.url)
        self.address = (parsed.hostname or "", parsed.port or 6514)
        self.hostname = (destination.hostname or socket.gethostname() or "-").replace(" ", "_")
        self.context: ssl.SSLContext | None = None
        if destination.scheme == "syslog+tls":
            context = ssl.create_default_context(cafile=destination.ca_file)
            if not destination.verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            if destination.cert_file:
                context.load_cert_chain(destination.cert_file, destination.key_file)
            self.context = context
        self.udp: socket.socket | None = None

    def frames(self, batch: Sequence[Outgoing], counted: bool) -> list[bytes]:
        pri = self.destination.facility * 8 + 6  # informational
        return [
            syslog_frame(
                item.body,
                _item_time(item.message),
                pri=pri,
                hostname=self.hostname,
                msgid="search" if isinstance(item.message.item, Search) else "alert",
                counted=counted,
            )
            for item in batch
        ]

    def send(self, batch: Sequence[Outgoing]) -> None:
        if self.destination.scheme == "syslog+udp":
            self._send_udp(batch)
            return
        data = b"".join(self.frames(batch, counted=True))
        try:
            raw = socket.create_connection(self.address, timeout=self.destination.timeout)
        except OSError as exc:
            raise TransientError(f"cannot connect: {exc.strerror or exc}") from None
        try:
            sock: socket.socket = raw
            if self.context is not None:
                try:
                    sock = self.context.wrap_socket(raw, server_hostname=self.address[0])
                except ssl.SSLCertVerificationError:
                    raise Refused(
                        "TLS verification failed: check ca_file and the receiver's certificate"
                    ) from None
            sock.sendall(data)
            self._confirm_read(sock)
        except (OSError, ssl.SSLError) as exc:
            raise TransientError(f"connection lost: {exc.strerror or exc}") from None
        finally:
            raw.close()

    def _confirm_read(self, sock: socket.socket) -> None:
        """Half-close and wait for the receiver to close: it has then read every byte."""
        if isinstance(sock, ssl.SSLSocket):
            with contextlib.suppress(ssl.SSLError, OSError):
                sock = sock.unwrap()
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)
        while True:
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                raise TransientError("the receiver did not confirm it read the batch") from None
            except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
                return  # closed by the peer after reading
            except ConnectionResetError:
                # a reset can mean unread bytes were thrown away: send the batch again
                raise TransientError("the receiver reset the connection") from None
            if not chunk:
                return

    def _send_udp(self, batch: Sequence[Outgoing]) -> None:
        if self.udp is None:
            family = socket.AF_INET6 if ":" in self.address[0] else socket.AF_INET
            self.udp = socket.socket(family, socket.SOCK_DGRAM)
        for frame in self.frames(batch, counted=False):
            try:
                self.udp.sendto(frame[:UDP_MAX_BYTES], self.address)
            except OSError as exc:
                raise TransientError(f"cannot send: {exc.strerror or exc}") from None

    def close(self) -> None:
        if self.udp is not None:
            self.udp.close()


def open_transport(destination: Destination) -> Transport:
    if destination.scheme == "file":
        return FileTransport(destination)
    if destination.scheme == "https":
        if destination.format in ("slack", "teams", "webhook"):
            return WebhookTransport(destination)
        return HttpTransport(destination)
    return SyslogTransport(destination)
