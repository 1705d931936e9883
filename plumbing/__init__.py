"""Plumbing every service shares: settings, database, outbox, inbox, Kafka consumer loop, HTTP edges."""
