"""English for a Finnish service: 30 Nov 2026, 08:38 (Django's en formats are American:
11/30/2026 8:36 a.m.). Only the output formats differ; input formats stay Django's."""

DATE_FORMAT = "j M Y"
SHORT_DATE_FORMAT = "j M Y"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
