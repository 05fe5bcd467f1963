"""Prometheus metrics at /metrics, counted from the database when scraped.

Counted, not kept in process memory, so every Haven process gives the same answer and a
restart loses nothing. Only counts: no names, no meeting titles, no ids. The page is
for the operator's monitoring, not the public: it needs the bearer token in
HAVEN_METRICS_TOKEN, or a client address in HAVEN_METRICS_ALLOWED_ADDRESSES; everyone
else gets 404, as for a page that does not exist.
"""

import hmac
import ipaddress
from collections.abc import Iterable, Iterator

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CollectorRegistry, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from haven.meetings.models import Meeting
from haven.room.media import servers_answering
from haven.room.models import Participant

JANUS_TIMEOUT = 3.0


class Counts(Collector):
    """The gauges, from numbers gathered just before the scrape is rendered."""

    def __init__(self, values: dict[str, float], janus: dict[str, bool]) -> None:
        self.values = values
        self.janus = janus

    def collect(self) -> Iterator[Metric]:
        described = {
            "haven_meetings_open": "Meetings in progress (started, not ended).",
            "haven_participants_in_rooms": "People admitted to a meeting in progress.",
            "haven_participants_waiting": "People in a waiting room of a meeting in progress.",
            "haven_janus_servers": "Janus media servers this process is configured to use.",
            "haven_janus_servers_up": "Janus media servers that answered this scrape.",
        }
        for name, help_text in described.items():
            yield GaugeMetricFamily(name, help_text, value=self.values[name])
        each = GaugeMetricFamily(
            "haven_janus_server_up",
            "1 if this Janus media server answered this scrape, else 0.",
            labels=["server"],
        )
        for server, up in self.janus.items():
            each.add_metric([server], 1 if up else 0)
        yield each


def _database_counts() -> dict[str, float]:
    live = Participant.objects.filter(meeting__state=Meeting.State.LIVE)
    return {
        "haven_meetings_open": Meeting.objects.filter(state=Meeting.State.LIVE).count(),
        "haven_participants_in_rooms": live.filter(state=Participant.State.ADMITTED).count(),
        "haven_participants_waiting": live.filter(state=Participant.State.WAITING).count(),
    }


def allowed(request: HttpRequest) -> bool:
    """The right bearer token, or a client address on the allow-list."""
    token = settings.HAVEN_METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    return _address_allowed(request.META.get("REMOTE_ADDR", ""), settings.HAVEN_METRICS_NETWORKS)


def _address_allowed(
    address: str, networks: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> bool:
    try:
        client = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(client in network for network in networks)


@never_cache
@require_GET
async def metrics(request: HttpRequest) -> HttpResponse:
    if not allowed(request):
        raise Http404
    values = await sync_to_async(_database_counts)()
    janus = await servers_answering(JANUS_TIMEOUT)
    values["haven_janus_servers"] = len(janus)
    values["haven_janus_servers_up"] = sum(janus.values())
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Counts(values, janus))
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
