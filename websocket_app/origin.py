"""The WebSocket origin check, for browsers only.

Channels' AllowedHostsOriginValidator refuses a handshake without an `Origin` header. The check
exists against cross-site WebSocket hijacking: a page on another site opening a socket that rides
on our session cookie. Browsers always send `Origin` on a WebSocket handshake, so a handshake
without one is not a page in a browser: a trading client, a script, a benchmark. Those
authenticate with a token (or not at all, for the public streams), and refusing them only makes
every client set a header that proves nothing. A browser's `Origin` is still checked against
ALLOWED_HOSTS exactly as Channels does.
"""

from __future__ import annotations

from channels.security.websocket import AllowedHostsOriginValidator, OriginValidator


class BrowserOriginValidator(OriginValidator):
    def valid_origin(self, parsed_origin) -> bool:
        if parsed_origin is None:
            return True
        return super().valid_origin(parsed_origin)


def browser_origin_validator(application) -> BrowserOriginValidator:
    """Channels' allowed-hosts origin check, letting through handshakes that carry no Origin."""
    hosts_only = AllowedHostsOriginValidator(application)
    return BrowserOriginValidator(application, hosts_only.allowed_origins)
