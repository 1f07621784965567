"""Tests of the Django admin: every model listed, history read-only, key revocation logged."""
