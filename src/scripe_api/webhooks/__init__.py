"""Webhooks (WEBHOOKS.md): endpoints, the transactional outbox, signed at-least-once delivery and
the delivery log."""
