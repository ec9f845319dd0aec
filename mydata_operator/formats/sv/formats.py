"""Swedish as written in Finland: 30.11.2026 kl. 8.38 (Django's sv formats are Sweden's ISO
dates). Only the output formats differ; input formats stay Django's."""

DATE_FORMAT = "j.n.Y"
SHORT_DATE_FORMAT = "j.n.Y"
TIME_FORMAT = "G.i"
DATETIME_FORMAT = "j.n.Y \\k\\l. G.i"
SHORT_DATETIME_FORMAT = "j.n.Y G.i"
