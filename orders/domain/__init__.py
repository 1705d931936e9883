"""Orders' domain: orders, their statuses and how they are priced. No framework imports."""
