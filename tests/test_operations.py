"""/healthz, /readyz and /metrics against the live stack (and /healthz without a database)."""

import json
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.harness import flows
from tests.harness.flows import Socket
from tests.harness.netns import run_in_namespace

METRICS = (
    "haven_meetings_open",
    "haven_participants_in_rooms",
    "haven_participants_waiting",
    "haven_janus_servers",
    "haven_janus_servers_up",
)


def metrics(stack) -> dict[str, float]:
    token = stack.env["HAVEN_METRICS_TOKEN"]
    with stack.http() as client:
        response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    families = text_string_to_metric_families(response.text)
    return {sample.name: sample.value for family in families for sample in family.samples}


@pytest.mark.django_db
@pytest.mark.filterwarnings("ignore:No directory at")  # no collected static in unit tests
def test_healthz_answers_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_and_readyz_on_the_live_server(stack):
    with stack.http() as client:
        health = client.get("/healthz")
        ready = client.get("/readyz")
        assert client.post("/healthz").status_code in {403, 405}  # CSRF, or GET only
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert ready.status_code == 200, ready.text
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": "ok", "channel_layer": "ok", "media": "ok"},
    }


def test_probes_are_never_rate_limited(stack):
    """A probe every few seconds for ever, or a burst of them, always gets an answer."""
    with stack.http() as client:
        statuses = {
            client.get(path).status_code for _ in range(40) for path in ("/healthz", "/readyz")
        }
    assert statuses == {200}


def test_readyz_says_not_ready_while_janus_is_down_and_ready_again_after(stack):
    assert stack.janus_process is not None
    stack.janus_process.kill()
    try:
        with stack.http() as client:
            response = client.get("/readyz")
            assert client.get("/healthz").status_code == 200  # alive, just not ready
    finally:
        run_in_namespace(stack.namespace, stack.janus_process.start)
    assert response.status_code == 503
    assert response.json() == {
        "status": "not ready",
        "checks": {"database": "ok", "channel_layer": "ok", "media": "unavailable"},
    }
    assert metrics(stack)["haven_janus_servers"] == 1
    # The client reconnects on its own; wait for it rather than for a fixed time.
    deadline = time.monotonic() + 30
    with stack.http() as client:
        while (status := client.get("/readyz").status_code) != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
    assert status == 200


def test_metrics_need_the_token(stack):
    token = stack.env["HAVEN_METRICS_TOKEN"]
    with stack.http() as client:
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": f"Bearer {token}x"},
            {"Authorization": f"Basic {token}"},
            {"Authorization": token},
        ):
            response = client.get("/metrics", headers=headers)
            assert response.status_code == 404, headers
            assert "haven_" not in response.text
        # Nothing else than a scrape either.
        assert client.post(
            "/metrics", headers={"Authorization": f"Bearer {token}"}
        ).status_code in {403, 405}
    assert set(METRICS) <= set(metrics(stack))


def test_metrics_count_meetings_participants_and_the_waiting_room(stack):
    host_client, _ = flows.sign_in(stack)
    meeting_id = flows.create_meeting(host_client)
    invited = flows.invite(stack, host_client, meeting_id)
    attendee_client = flows.enter_passcode(stack, invited)
    before = metrics(stack)
    assert before["haven_janus_servers_up"] == 1

    host = Socket(stack, host_client, meeting_id)
    flows.join(host)
    attendee = Socket(stack, attendee_client, meeting_id)
    flows.join(attendee)
    listed = host.expect("waiting_list")["waiting"]
    waiting = metrics(stack)
    assert waiting["haven_meetings_open"] == before["haven_meetings_open"] + 1
    assert waiting["haven_participants_in_rooms"] == before["haven_participants_in_rooms"] + 1
    assert waiting["haven_participants_waiting"] == before["haven_participants_waiting"] + 1

    host.send({"type": "admit", "participant": listed[0]["participant"]})
    attendee.expect("admitted")
    admitted = metrics(stack)
    assert admitted["haven_participants_in_rooms"] == before["haven_participants_in_rooms"] + 2
    assert admitted["haven_participants_waiting"] == before["haven_participants_waiting"]

    host.send({"type": "end_meeting"})
    attendee.expect("meeting_ended")
    ended = metrics(stack)
    assert ended["haven_meetings_open"] == before["haven_meetings_open"]
    assert ended["haven_participants_in_rooms"] == before["haven_participants_in_rooms"]
    # Counts only: no names, titles or ids of anyone or anything.
    with stack.http() as client:
        text = client.get(
            "/metrics", headers={"Authorization": f"Bearer {stack.env['HAVEN_METRICS_TOKEN']}"}
        ).text
    assert meeting_id not in text and invited.name not in text and "@" not in text
    assert json.dumps(sorted(METRICS))  # the names the docs list
