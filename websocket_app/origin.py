"""The WebSocket origin check, for browsers only.

Channels' AllowedHostsOriginValidator refuses a handshake without an `Origin` header. The check
exists against cross-site WebSocket hijacking: a page on another site opening a socket that rides
on our session cookie. Browsers always send `Origin` on a WebSocket handshake, so a handshake
without one is not a page in a browser: a trading client, a script, a benchmark. Those
authenticate with a token (or not at all, for the public streams), and refusing them only makes
every client set a header that proves nothing. A browser's `Origin` is still checked against
ALLOWED_HOSTS exactly as Channels does, and must also be this server's own origin, port
included (the handshake's Host), or one of CSRF_TRUSTED_ORIGINS: cookies are not scoped to a
port, so without the port any other app on localhost could open /ws/orders/ with the user's
session, which Django's CSRF check refuses to its forms and POSTs.
"""

from __future__ import annotations

from urllib.parse import urlparse

from channels.security.websocket import (
    AllowedHostsOriginValidator,
    OriginValidator,
    WebsocketDenier,
)
from django.conf import settings


def same_origin_or_trusted(headers: list[tuple[bytes, bytes]]) -> bool:
    """A browser's Origin names this server (scheme aside: TLS may end at a proxy), or is
    trusted in CSRF_TRUSTED_ORIGINS. True without an Origin (not a browser) or without a Host
    to compare with (the ALLOWED_HOSTS check still applies)."""
    found = {name: value.decode("latin1") for name, value in headers}
    origin = found.get(b"origin")
    host = found.get(b"x-forwarded-host") if settings.USE_X_FORWARDED_HOST else None
    host = host or found.get(b"host")
    if origin is None or host is None:
        return True
    if urlparse(origin).netloc.lower() == host.strip().lower():
        return True
    trusted = {o.lower().rstrip("/") for o in settings.CSRF_TRUSTED_ORIGINS}
    return origin.lower().rstrip("/") in trusted


class BrowserOriginValidator(OriginValidator):
    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not same_origin_or_trusted(scope.get("headers", [])):
            return await WebsocketDenier()(scope, receive, send)
        return await super().__call__(scope, receive, send)

    def valid_origin(self, parsed_origin) -> bool:
        if parsed_origin is None:
            return True
        return super().valid_origin(parsed_origin)


def browser_origin_validator(application) -> BrowserOriginValidator:
    """Channels' allowed-hosts origin check, letting through handshakes that carry no Origin."""
    hosts_only = AllowedHostsOriginValidator(application)
    return BrowserOriginValidator(application, hosts_only.allowed_origins)
