"""WebSocket authentication: a DRF token (?token= or an Authorization header) or the session."""

from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware


@database_sync_to_async
def _user_for_token(key: str):
    from rest_framework.authtoken.models import Token

    token = Token.objects.select_related("user").filter(key=key).first()
    return token.user if token and token.user.is_active else None


def _token_from_scope(scope) -> str | None:
    query = parse_qs(scope.get("query_string", b"").decode())
    if query.get("token"):
        return query["token"][0]
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            parts = value.decode().split()
            if len(parts) == 2 and parts[0].lower() in ("token", "bearer"):
                return parts[1]
    return None


class TokenAuthMiddleware(BaseMiddleware):
    """Runs after the session middleware: a valid token overrides an anonymous session user."""

    async def __call__(self, scope, receive, send):
        key = _token_from_scope(scope)
        if key:
            user = await _user_for_token(key)
            if user is not None:
                scope["user"] = user
        return await super().__call__(scope, receive, send)


def TokenAuthMiddlewareStack(inner):  # noqa: N802 (mirrors Channels' AuthMiddlewareStack)
    return AuthMiddlewareStack(TokenAuthMiddleware(inner))
