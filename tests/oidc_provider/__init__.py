"""A real OpenID provider for the single sign-on tests: django-oauth-toolkit in its OpenID
Connect mode, run as a process of its own (serve.py) beside the live Haven.

It signs ID tokens with an RS256 key made when it first starts, publishes them in its
JWKS, and keeps its own people (created by the tests through /control/, which also
disables them and sets the `amr`, `acr` and `roles` claims they get). Nothing here is
Haven's code: Haven talks to it only over HTTP, as to Microsoft Entra ID.

Why this one: django-oauth-toolkit is a maintained OAuth 2.0 / OpenID
Connect provider installed from PyPI like Haven's other test tools (a dev extra), runs
with nothing else, and is Python, so a test can make people, disable them and set their
claims. Debian's package named `dex` is not the Dex identity provider but a tool for
desktop entry files, so Dex is not to be had from Debian here.
"""
