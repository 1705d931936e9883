"""The generic saga engine: definitions as tables, instances, and the transitions between states.

Nothing here knows about orders, Kafka or PostgreSQL.
"""
