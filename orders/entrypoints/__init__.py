"""Orders' edges: the HTTP API and the message handlers. Thin: decode, call a use case, encode."""
