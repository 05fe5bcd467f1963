"""The channel layer that carries broadcasts between meeting connections
(haven/room/layers.py): Channels' in-memory layer without its per-message walks."""

import asyncio

from channels.layers import get_channel_layer

from haven.room.layers import CLEAN_EVERY_SECONDS, MeetingChannelLayer


def test_the_configured_layer_is_the_meeting_layer_with_room_for_a_burst():
    layer = get_channel_layer()
    assert isinstance(layer, MeetingChannelLayer)
    assert layer.capacity >= 1000


def test_a_burst_of_500_broadcasts_all_reach_a_connection_that_is_behind():
    """500 people arriving at once send the host 500 waiting lists before it reads one.
    Channels' default capacity of 100 dropped the newest, the ones that matter."""

    async def burst() -> list[int]:
        layer = get_channel_layer()
        host = await layer.new_channel()
        await layer.group_add("room-burst-host", host)
        for number in range(500):
            await layer.group_send("room-burst-host", {"type": "room.forward", "n": number})
        return [(await layer.receive(host))["n"] for _ in range(500)]

    assert asyncio.run(burst()) == list(range(500))


def test_every_member_gets_each_broadcast_once_and_a_full_queue_still_drops():
    async def run() -> tuple[list[int], list[int]]:
        layer = MeetingChannelLayer(capacity=3)
        quick, slow = await layer.new_channel(), await layer.new_channel()
        for channel in (quick, slow):
            await layer.group_add("room-x-in", channel)
        got_quick = []
        for number in range(5):
            await layer.group_send("room-x-in", {"type": "room.forward", "n": number})
            got_quick.append((await layer.receive(quick))["n"])
        got_slow = [(await layer.receive(slow))["n"] for _ in range(3)]
        return got_quick, got_slow

    got_quick, got_slow = asyncio.run(run())
    assert got_quick == [0, 1, 2, 3, 4]
    # The slow one read nothing while 5 came: it has the first 3, as with Channels' layer.
    assert got_slow == [0, 1, 2]


def test_expired_messages_are_still_cleaned_up_at_most_once_a_second():
    async def run() -> tuple[bool, bool]:
        layer = MeetingChannelLayer(expiry=0.05)
        gone, other = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("room-y-in", gone)
        await layer.group_send("room-y-in", {"type": "room.forward"})  # cleans (first time)
        await asyncio.sleep(0.1)  # the message to `gone` has expired now
        await layer.send(other, {"type": "room.forward"})
        await layer.receive(other)  # Channels' layer would clean here; this one waits
        kept_within_the_second = gone in layer.groups.get("room-y-in", {})
        await asyncio.sleep(CLEAN_EVERY_SECONDS)
        await layer.send(other, {"type": "room.forward"})
        await layer.receive(other)  # a second later: cleaned
        return kept_within_the_second, gone in layer.groups.get("room-y-in", {})

    kept_within_the_second, kept_after = asyncio.run(run())
    assert kept_within_the_second
    # An expired message means a dead connection: as Channels does, it leaves its groups.
    assert not kept_after
