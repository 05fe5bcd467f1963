"""Rule V3 by the structure of the code: nobody but the person can unmute them.

There are exactly two places that build an unmute for the media server: the person's own
microphone, and their own video held since their meeting's type started it off (P3).
Each names the participant's own feed, each is called from one handler of a message that
names nobody, and the Janus client refuses an unmute sent over any handle but that feed's
own publisher handle.
"""

import ast
from pathlib import Path

import pytest

from haven.media.janus import ForbiddenRequest, check_request_allowed
from haven.room import protocol

HAVEN = Path(__file__).resolve().parents[1] / "haven"


def _functions_building_an_unmute() -> list[str]:
    """Every function in haven/ with a dict literal whose "mute" is anything but True."""
    found = []
    for path in HAVEN.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Dict) and _unmutes(node):
                    found.append(f"{path.relative_to(HAVEN)}:{function.name}")
    return found


def _unmutes(node: ast.Dict) -> bool:
    for key, value in zip(node.keys, node.values, strict=True):
        if isinstance(key, ast.Constant) and key.value == "mute":
            return not (isinstance(value, ast.Constant) and value.value is True)
    return False


def _callers_of(name: str) -> list[str]:
    found = []
    for path in HAVEN.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Attribute) and node.attr == name:
                    found.append(f"{path.relative_to(HAVEN)}:{function.name}")
    return found


def test_V3_P3_two_functions_build_an_unmute_and_only_the_person_calls_them():
    assert sorted(_functions_building_an_unmute()) == [
        "media/gateway.py:unmute_own_audio",
        "media/gateway.py:unmute_own_video",
    ]
    assert _callers_of("unmute_own_audio") == ["room/media_handlers.py:on_unmute_self"]
    assert _callers_of("unmute_own_video") == ["room/media_handlers.py:on_camera_on_self"]


def test_V3_the_protocol_has_no_way_to_unmute_or_start_a_camera_for_someone_else():
    unmute = protocol.UnmuteSelf.model_fields
    assert set(unmute) == {"type", "id"}, "unmute_self must name nobody"
    camera = protocol.CameraOnSelf.model_fields
    assert set(camera) == {"type", "id"}, "camera_on_self must name nobody"
    for name in protocol.CLIENT_TYPES:
        assert "unmute" not in name or name == "unmute_self"
        assert "camera_on" not in name or name == "camera_on_self"
        assert "video_on" not in name
    assert protocol.Ask.model_fields["what"].annotation.__args__ == ("mute", "camera_off")  # type: ignore[union-attr]


def test_V3_the_janus_client_refuses_an_unmute_for_another_feed():
    own = {"request": "moderate", "room": 1, "id": 42, "mid": "0", "mute": False}
    check_request_allowed(own, owner_feed=42)  # the person's own handle and feed
    for owner in (None, 41):
        with pytest.raises(ForbiddenRequest):
            check_request_allowed(own, owner_feed=owner)
    with pytest.raises(ForbiddenRequest):
        check_request_allowed({**own, "mute": "no"}, owner_feed=None)
    check_request_allowed({**own, "mute": True}, owner_feed=None)  # muting is the host's
