"""Operator staff's changes that decide whose data flows where: a person's identity code, a
provider's organisation id, who is a regulator. Each only through a service here that writes
a consent-log entry (who, why) and ends the provider tokens that relied on the old value, in
one transaction; the Django admin shows these fields read-only and offers the change as an
action that asks for the reason (admin.py)."""
