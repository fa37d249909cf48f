"""Credentials in notify's configuration rows are sealed: encrypted with a key of the service's.

A robot's or webhook's URL carries its credential (WeCom `key=`, DingTalk
`access_token=`) and a webhook has a signing secret. In the database they are Fernet
tokens (AES-128-CBC with HMAC-SHA256, from `cryptography`) under a key derived with HKDF
from `NOTIFY_SECRETS_KEY`, so a copy of the database, a backup or a driver's debug log
shows no credential.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from services.notify.domain.config import URL_CHANNELS

SEALED = "sealed"
"""The key of a sealed endpoint in a stored contact: `{"sealed": "<Fernet token>"}`."""


class Sealer:
    """Seals and unseals the endpoints of contacts as the configuration rows store them."""

    def __init__(self, secret: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"notify contact endpoints"
        ).derive(secret.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal_tenant(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """A tenant configuration (as JSON) with every endpoint sealed."""
        return self._each_endpoint(document, self._seal)

    def unseal_tenant(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """A stored tenant configuration with every endpoint readable again."""
        return self._each_endpoint(document, self._unseal)

    def _seal(self, endpoint: Any) -> Any:
        if not isinstance(endpoint, Mapping) or SEALED in endpoint:
            return endpoint
        return {SEALED: self._fernet.encrypt(orjson.dumps(endpoint)).decode()}

    def _unseal(self, endpoint: Any) -> Any:
        if not isinstance(endpoint, Mapping) or SEALED not in endpoint:
            return endpoint
        try:
            return orjson.loads(self._fernet.decrypt(str(endpoint[SEALED]).encode()))
        except InvalidToken:
            raise ValueError(
                "a contact's credentials cannot be unsealed with this NOTIFY_SECRETS_KEY "
                "(it is not the key they were stored with)"
            ) from None

    @staticmethod
    def _each_endpoint(document: Mapping[str, Any], change: Any) -> dict[str, Any]:
        contacts = document.get("contacts") or {}
        changed = {
            person: {
                key: change(value) if key in URL_CHANNELS else value
                for key, value in contact.items()
            }
            for person, contact in contacts.items()
        }
        return {**document, "contacts": changed}
