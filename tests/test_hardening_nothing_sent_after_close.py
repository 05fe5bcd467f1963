"""Hardening: a connection this end has closed sends nothing more.

After `leave` the server closes the socket, but the connection is still in the meeting's
groups until it has gone: the roster its own leaving broadcast was then sent on the closed
socket, which raised in the server and was logged as an ERROR with a traceback.
"""

from tests.test_in_meeting_protocol import admitted, start_meeting
from tests.test_S8_access_rechecked_on_join import assert_nothing_logged_at_error


def test_hardening_someone_leaving_logs_nothing_at_error(stack):
    meeting = start_meeting(stack)
    ann = admitted(stack, meeting, "Ann Leaving")[0]
    bob = admitted(stack, meeting, "Bob Staying")[0]
    logged = stack.log.stat().st_size
    ann.send({"type": "leave"})
    assert ann.expect("left") == {"type": "left"}
    names = {person["name"] for person in bob.expect("roster")["roster"]}
    while "Ann Leaving" in names:
        names = {person["name"] for person in bob.expect("roster")["roster"]}
    # The host's own later messages go through, and then the log is read.
    meeting.host.send({"type": "lock"})
    assert meeting.host.expect("lock_changed") == {"type": "lock_changed", "locked": True}
    assert_nothing_logged_at_error(stack, logged)
