"""Payment's domain: a payment's life and what a card processor answers. No framework imports."""
