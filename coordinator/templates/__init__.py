"""HTML for the coordinator's saga dashboard: plain Python string building, every value escaped."""
