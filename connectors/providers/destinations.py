"""Where a provider's webhook may point: https to public addresses only (no SSRF).

A webhook URL is checked when a provider registers it and again just before every delivery,
each time after resolving its name: every address the name resolves to must be a public
unicast address. Refused: loopback, private (RFC 1918), shared (RFC 6598), link-local
(including the cloud metadata address 169.254.169.254), unique-local (fc00::/7), multicast,
documentation and other reserved ranges, and the well-known metadata addresses that are not
link-local (fd00:ec2::254, 100.100.100.200). A name that does not resolve is refused too: what
cannot be checked is not sent to.

``TAHTO_WEBHOOK_ALLOW_LOOPBACK`` (off by default; tests and the local demo only) lets a URL
whose every address is loopback through, over http too, so a receiver on this machine works.
Everything else stays refused with it on.

The check and the connection are one step at delivery as well: ``guarded_session()`` sends
through connections that check the address they connect to, so a name that answers a public
address to the check and a private one to the connection (DNS rebinding) still gets nothing.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.connection import create_connection

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Cloud metadata services outside the link-local and unique-local ranges' plain meaning.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)


class UnsafeDestination(ValueError):
    """The URL may not receive webhooks; the message says why, for the provider to read."""


def loopback_allowed() -> bool:
    return bool(getattr(settings, "TAHTO_WEBHOOK_ALLOW_LOOPBACK", False))


NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the IPv4 address is the last 32 bits
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: where the IPv4 address sits varies
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries to (6to4, Teredo, NAT64), if any."""
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_refusal(address: IPAddress, *, allow_loopback: bool) -> str:
    """Why `address` may not receive a webhook, or "" if it may."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        elif (embedded := _embedded_ipv4(address)) is not None:
            why = address_refusal(embedded, allow_loopback=False)
            return f"{why}, {embedded}, in IPv6 form" if why else ""
        elif address in NAT64_LOCAL:
            return "a NAT64 local-use address"
        elif address in IPV4_COMPATIBLE and int(address) > 1:
            return "an IPv4-compatible address (deprecated)"
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_loopback:
        return "" if allow_loopback else "a loopback address"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_link_local:
        return "a link-local address"
    if isinstance(address, ipaddress.IPv6Address) and address in ipaddress.ip_network("fc00::/7"):
        return "a unique-local address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "an address that is not publicly routable"
    return ""


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (a literal address is itself)."""
    try:
        return [ipaddress.ip_address(host.split("%")[0])]
    except ValueError:
        pass
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeDestination(f"the host name {host!r} does not resolve ({exc})") from None
    return list(dict.fromkeys(ipaddress.ip_address(str(a[4][0]).split("%")[0]) for a in answers))


def destination_check(url: str) -> list[IPAddress]:
    """Check a webhook URL; return the addresses it resolves to, or raise UnsafeDestination."""
    allow_loopback = loopback_allowed()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeDestination(f"the URL is malformed ({exc})") from None
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise UnsafeDestination("the URL must be an absolute https URL")
    if parts.username is not None or parts.password is not None:
        raise UnsafeDestination("the URL must not carry a user name or password")
    addresses = resolve(parts.hostname, port or (443 if parts.scheme == "https" else 80))
    for address in addresses:
        if why := address_refusal(address, allow_loopback=allow_loopback):
            raise UnsafeDestination(f"{parts.hostname} resolves to {address}, {why}")
    if parts.scheme != "https" and not (allow_loopback and all(a.is_loopback for a in addresses)):
        raise UnsafeDestination("the URL must use https")
    return addresses


# --- Connections that check the address they connect to (against DNS rebinding) -------------


def _guarded_connect(conn: Any) -> socket.socket:
    host, port = conn._dns_host, conn.port
    allow_loopback = loopback_allowed()
    addresses = resolve(host, port)
    for address in addresses:
        if why := address_refusal(address, allow_loopback=allow_loopback):
            raise OSError(f"refused to connect to {host} ({address}): {why}")
    # Connect only to the addresses just checked, never to a fresh answer for the name.
    error: OSError | None = None
    for address in addresses:
        try:
            sock: socket.socket = create_connection(
                (str(address), port),
                conn.timeout,
                source_address=conn.source_address,
                socket_options=conn.socket_options,
            )
            return sock
        except OSError as exc:
            error = exc
    assert error is not None
    raise error


class _GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _guarded_connect(self)


class _GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _guarded_connect(self)


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPPool,
            "https": _GuardedHTTPSPool,
        }


def guarded_session() -> requests.Session:
    """A requests session whose every connection checks the address it connects to."""
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment: the check must see the target
    adapter = _GuardedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
