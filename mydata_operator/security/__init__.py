"""Limits, security events and the browser and session protections every face shares."""
