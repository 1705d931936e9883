"""Catalog's domain: products, stock rules and reservations. No framework imports."""
