"""The Tahto operator service (a package named `operator` could never be imported)."""

from .celery import app as celery_app

__all__ = ["celery_app"]
