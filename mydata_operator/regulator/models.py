"""What the regulator app keeps of its own: the last signed tree head each regulator saw.

The log itself lives in `consents`; a regulator's view of it is read-only. Keeping the last
head a regulator saw lets every later visit prove, with an RFC 9162 consistency proof, that
the log only grew since then (nothing rewritten or removed in between).
"""

from django.db import models

from mydata_operator.identity.models import Regulator


class SeenTreeHead(models.Model):
    """The newest signed tree head a regulator has seen and found consistent."""

    regulator = models.OneToOneField(
        Regulator, on_delete=models.CASCADE, related_name="seen_tree_head"
    )
    tree_size = models.BigIntegerField()
    timestamp_ms = models.BigIntegerField()
    root_hash = models.BinaryField(max_length=32)
    signature = models.BinaryField(max_length=64)
    key_id = models.CharField(max_length=64)
    seen_at = models.DateTimeField()
    failed_at = models.DateTimeField(
        null=True, blank=True, help_text="When a newer head last failed to prove consistency"
    )
    failure = models.TextField(blank=True, help_text="What failed, in words")

    def __str__(self) -> str:
        return f"{self.regulator} saw size {self.tree_size}"
