"""django-oauth-toolkit's validator with the claims an organisation's provider gives."""

import time
from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator

from tests.oidc_provider.models import Person

# Set through /control/ to make the provider misbehave (one process, so a dict will do).
FAULTS: dict[str, Any] = {"audience": "", "expired": False}


class Validator(OAuth2Validator):  # type: ignore[misc]
    # Every claim goes in the ID token, whatever scopes were asked for.
    oidc_claim_scope = None

    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        user = request.user
        claims: dict[str, Any] = {"email": user.email, "name": user.get_full_name()}
        person = Person.objects.filter(user=user).first()
        if person is not None:
            if person.amr:
                claims["amr"] = person.amr
            if person.acr:
                claims["acr"] = person.acr
            if person.roles:
                claims["roles"] = person.roles
        return claims

    def get_id_token_dictionary(self, token: Any, token_handler: Any, request: Any) -> Any:
        claims, expiration = super().get_id_token_dictionary(token, token_handler, request)
        if FAULTS["audience"]:
            claims["aud"] = FAULTS["audience"]
        if FAULTS["expired"]:
            claims["iat"] = int(time.time()) - 3600
            claims["exp"] = int(time.time()) - 1800
        return claims, expiration

    def validate_refresh_token(
        self, refresh_token: Any, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        """As Entra ID does: a disabled account's refresh tokens no longer work."""
        valid = bool(super().validate_refresh_token(refresh_token, client, request))
        return valid and bool(request.user.is_active)
