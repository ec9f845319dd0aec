"""Operator staff's changes that decide whose data flows where, or who may act: a person's
identity code, a provider's organisation id, who is a regulator, an OAuth client's redirect
URIs and signing keys, a user's staff rights, password and e-mail, and whether their account
is on at all. Each only through a service here that writes a consent-log entry (who, why)
and ends the codes and tokens that relied on the old value, in one transaction; the Django
admin shows these fields read-only and offers the change as an action that asks for the
reason (admin.py)."""
