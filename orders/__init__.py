"""The orders service: order placement and a local copy of the catalog."""
