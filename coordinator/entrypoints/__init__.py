"""Coordinator's edges: the HTTP API, the message handlers and the HTML dashboard."""
