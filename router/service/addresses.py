"""Where webhooks may point: hosts that resolve only to public addresses, unless ``[webhooks]
allow_private`` says otherwise.

A URL is checked when it is registered (every address its host resolves to), and again at every delivery
by the resolver the delivery connects through (:class:`GuardedResolver`): the addresses checked are the
ones connected to, so a name that resolves to a public address once and to a private one later (DNS
rebinding) is refused at that later delivery. The address classes are the standard library's
(``ipaddress``: ``is_global`` follows the IANA special-purpose registries)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL


class UnsafeAddress(OSError):
    """The host resolves to an address webhooks may not reach (or does not resolve at all)."""


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 scope id is not part of the address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def address_literal(host: str) -> str | None:
    """The address a URL's host spells out (``10.0.0.1``, ``[::1]``), or None for a name."""
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def check_addresses(host: str, addresses: list[str], allow_private: bool) -> None:
    if not addresses:
        raise UnsafeAddress(f"{host} does not resolve")
    if allow_private:
        return
    refused = sorted({a for a in addresses if not is_public(a)})
    if refused:
        raise UnsafeAddress(f"{host} resolves to a private or reserved address ({', '.join(refused)})")


async def check_url(url: str, allow_private: bool) -> None:
    """Raise :class:`UnsafeAddress` unless every address the URL's host resolves to may be reached (an
    address literal is checked as it is)."""
    try:
        parsed = URL(url)
        port = parsed.port
    except ValueError as exc:
        raise UnsafeAddress("not a valid URL") from exc
    host = parsed.raw_host
    if not host or parsed.scheme not in ("http", "https"):
        raise UnsafeAddress("the URL needs an http(s) scheme and a host")
    literal = address_literal(host)
    if literal is not None:
        check_addresses(host, [literal], allow_private)
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port or 0, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:  # no such name, or one IDNA cannot encode
        raise UnsafeAddress(f"{host} does not resolve") from exc
    check_addresses(host, [str(info[4][0]) for info in infos], allow_private)


class GuardedResolver(AbstractResolver):
    """The resolver deliveries connect through: it resolves as aiohttp does and refuses a host any of
    whose addresses may not be reached, so the addresses checked are those connected to."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._inner = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            found = await self._inner.resolve(host, port, family)
        except OSError as exc:
            raise UnsafeAddress(f"{host} does not resolve") from exc
        check_addresses(host, [r["host"] for r in found], self.allow_private)
        return found

    async def close(self) -> None:
        await self._inner.close()
