"""Transports deliver a built message: over SMTP, over an HTTP email service, or into memory."""
