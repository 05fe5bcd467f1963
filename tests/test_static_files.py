"""The stylesheets and scripts the pages load are well formed and served."""

from pathlib import Path

STATIC = Path(__file__).resolve().parents[1] / "haven" / "static" / "haven"


def test_every_stylesheet_has_balanced_braces():
    # A merge once left an @media block open and every later rule applied only in print.
    for css in STATIC.rglob("*.css"):
        depth = 0
        for number, line in enumerate(css.read_text().splitlines(), 1):
            depth += line.count("{") - line.count("}")
            assert depth >= 0, f"{css.name}:{number}: a closing brace too many"
        assert depth == 0, f"{css.name}: {depth} block(s) left open"


def test_static_files_are_served_with_the_page_security_headers(stack):
    client = stack.http()
    for path in ("css/site.css", "css/room.css", "js/room.js", "js/protocol.js", "js/chat.js"):
        response = client.get(f"/static/haven/{path}")
        assert response.status_code == 200, path
        assert response.headers["x-content-type-options"] == "nosniff"
    page = client.get("/accounts/login/")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy


def test_static_files_are_served_without_a_synchronous_iterator_warning(stack):
    # Under ASGI, Django warns whenever a response streams through a synchronous iterator
    # (WhiteNoise's file responses did, once per process). Haven's server log stays clean.
    client = stack.http()
    for path in ("css/site.css", "js/room.js"):
        response = client.get(f"/static/haven/{path}")
        assert response.status_code == 200, path
        assert response.content == (STATIC / path).read_bytes(), path
        head = client.head(f"/static/haven/{path}")
        assert head.status_code == 200 and head.content == b"", path
        again = client.get(f"/static/haven/{path}", headers={"If-None-Match": head.headers["etag"]})
        assert again.status_code == 304 and again.content == b"", path
    assert "must consume synchronous iterators" not in stack.log.read_text()
