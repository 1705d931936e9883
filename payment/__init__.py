"""The payment service: charges and refunds through Stripe."""
