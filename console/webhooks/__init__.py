"""Outbound webhooks: subscriptions to the event log, signed deliveries in seq order, retries."""
