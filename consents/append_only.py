"""The one list of append-only tables of the consent log.

The database refuses UPDATE, DELETE and TRUNCATE on them with triggers (migrations 0002,
0006_log_sequence and 0010), and the service's database role may only SELECT and INSERT on them
(`manage.py db_roles`). A test checks that the triggers cover every table named here.
"""

APPEND_ONLY_TABLES: tuple[str, ...] = (
    "consents_logentry",
    "consents_logleaf",
    "consents_logbatch",
    "consents_lognode",
    "consents_treehead",
    "consents_receipt",
    "consents_notice",
    "consents_cosignature",
    "consents_integritycheck",
)
