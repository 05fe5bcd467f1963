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
