"""Subscriptions, notifications and their deliveries."""
