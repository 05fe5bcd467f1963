"""Passcode guessing across links (rule S1, issue 20 item 4) behind deploy/nginx/haven.conf:
the address that counts is the one nginx saw, and a client's own X-Forwarded-For does not
move its tries onto someone else. Live: nginx and a second Haven (tests/test_tls_proxy.py).
"""

from __future__ import annotations

import httpx

from tests.harness import flows
from tests.test_tls_proxy import SCRAPER_ADDRESS, Proxy, proxy  # noqa: F401  (the fixture)


def _post_passcode(client: httpx.Client, path: str, passcode: str) -> httpx.Response:
    return flows.post_form(client, path, {"passcode": passcode})


def test_S1_behind_nginx_guesses_count_for_the_guessers_own_address(proxy: Proxy):  # noqa: F811
    host, _ = flows.sign_in(proxy.stack)
    meeting_id = flows.create_meeting(host)
    invited = [flows.invite(proxy.stack, host, meeting_id, f"Pat {n}") for n in range(3)]
    paths = [flows.path_of(proxy.stack, person.link) for person in invited]
    wrong = ["000000" if p.passcode != "000000" else "111111" for p in invited]

    def guesses_then_a_neighbour() -> tuple[list[int], str, int]:
        # The guesser is another machine to nginx, and names 127.0.0.1 as its address.
        transport = httpx.HTTPTransport(verify=proxy.ssl_context(), local_address=SCRAPER_ADDRESS)
        spoofing = {"X-Forwarded-For": "127.0.0.1"}
        with proxy.client(transport=transport, headers=spoofing) as guesser:
            statuses = [
                _post_passcode(guesser, paths[n % 3], wrong[n % 3]).status_code for n in range(12)
            ]
            last = _post_passcode(guesser, paths[0], invited[0].passcode).text
        # Someone else (127.0.0.1 to nginx) is not slowed by the guesser.
        with proxy.client() as neighbour:
            entered = _post_passcode(neighbour, paths[0], invited[0].passcode).status_code
        return statuses, last, entered

    statuses, last, entered = proxy.inside(guesses_then_a_neighbour)
    assert statuses == [400] * 10 + [429, 429]
    assert "Please wait" in last and "from your network" in last
    assert entered == 302
