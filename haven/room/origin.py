"""The Origin check on the meeting socket (ASVS 4.4.2), refusing what it cannot read.

Channels' OriginValidator reads the port of the Origin header as it compares it, and an
Origin it cannot read (`HTTP://LOCALHOST:8000x`: "Port could not be cast to integer", or
`http://[::1`: "Invalid IPv6 URL") raised ValueError out of the handshake, which the
server answered with HTTP 500 and a traceback. Here such an Origin is simply not one of
HAVEN_ALLOWED_ORIGINS: refused with 403, as any other foreign origin, nothing logged.
"""

from typing import Any
from urllib.parse import ParseResult, urlparse

from channels.security.websocket import OriginValidator, WebsocketDenier


class MeetingOriginValidator(OriginValidator):  # type: ignore[misc]
    """OriginValidator, except that an Origin it cannot read, or more than one Origin
    header, is refused (HTTP 403) rather than an error."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket":
            raise ValueError("MeetingOriginValidator guards WebSocket connections only")
        origins = [value for name, value in scope.get("headers", []) if name == b"origin"]
        parsed = readable_origin(origins[0]) if len(origins) == 1 else None
        if parsed is not None and self.valid_origin(parsed):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)

    def valid_origin(self, parsed_origin: Any) -> bool:
        try:
            return bool(super().valid_origin(parsed_origin))
        except ValueError:  # a part Channels reads lazily that does not parse after all
            return False


def readable_origin(value: bytes) -> ParseResult | None:
    """The Origin header parsed, with its host and port readable; None if they are not."""
    try:
        parsed = urlparse(value.decode("latin-1"))
        _ = parsed.hostname, parsed.port  # both raise ValueError on a malformed origin
    except ValueError:
        return None
    return parsed
