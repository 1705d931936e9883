"""Payment's domain: a payment's life and the gateway port. No framework imports."""
