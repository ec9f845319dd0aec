"""Django's database session engine, storing with each session the user it is signed in as
(`models.UserSession.user_id`), so `sessions.sessions_end_for_user` reads only that user's rows.

The column follows the session's data: it is written on every save, so signing in, signing
out (Django flushes the session) and a new session key on sign-in all keep it right.
"""

from typing import Any

from django.apps import apps
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DatabaseStore


class SessionStore(DatabaseStore):
    @classmethod
    def get_model_class(cls) -> Any:
        # By name, not import: the model names this store too (get_decoded).
        return apps.get_model("security", "UserSession")

    def create_model_instance(self, data: dict[str, Any]) -> Any:
        session: Any = super().create_model_instance(data)  # a UserSession
        try:
            session.user_id = int(data[SESSION_KEY])
        except (KeyError, TypeError, ValueError):  # not signed in
            session.user_id = None
        return session
