"""RetroVault's message contracts: every command, reply and event, the envelope, topics and codecs.

All services import their messages from here; nothing is defined twice.
"""
