"""The ASGI application: Django pages over HTTP, the meeting protocol over WebSocket."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haven.settings")
django.setup(set_prefix=False)

# Django's own handler, except that request bodies never spill into temporary files (S4).
from haven.documents.uploads import InMemoryBodyASGIHandler  # noqa: E402

django_http = InMemoryBodyASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402 (needs Django set up first)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from haven.room.origin import MeetingOriginValidator  # noqa: E402
from haven.room.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_http,
        # The Origin check (ASVS 4.4.2) stops another site's page, or another port of
        # this host, from opening a meeting socket with a visitor's cookies: scheme, host
        # and port must be one of HAVEN_ALLOWED_ORIGINS. No Origin header, or one that
        # cannot be read: refused (403). A path that is no meeting's: 404 (routing.py).
        "websocket": MeetingOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
            settings.HAVEN_ALLOWED_ORIGINS,
        ),
    }
)
