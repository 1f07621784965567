"""Reviewer notifications: a batched e-mail digest of the proposals waiting for each reviewer."""
