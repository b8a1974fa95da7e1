"""The application layer's error, and the messages its use cases say."""

from __future__ import annotations

from barua.errors import BaruaError
from barua.texts import Message


class AppError(BaruaError):
    """A use case cannot do what was asked: no settings yet, a wrong fingerprint, …"""


NO_SETTINGS = Message("app.no_settings", "no email settings are saved yet")
NO_SETTINGS_FOR = Message("app.no_settings_for", 'no email settings are saved yet for "{business}"')
NO_SETTINGS_HINT = Message(
    "app.no_settings_hint",
    "Run `barua settings set --help`, or give the BARUA_* environment variables.",
)
NO_SETTINGS_FLAGS_HINT = Message(
    "app.no_settings_flags_hint",
    "Run `barua settings set --host smtp.example.com --port 587 --username you@example.com "
    "--password-stdin`, or give the settings on this command.",
)
FINGERPRINT_INVALID = Message(
    "app.fingerprint_invalid", "--fingerprint must be a SHA-256 fingerprint (64 hex digits)"
)
FINGERPRINT_DIFFERS = Message(
    "app.fingerprint_differs", "the server presents {sha256}, not the fingerprint you gave"
)
FINGERPRINT_DIFFERS_HINT = Message(
    "app.fingerprint_differs_hint",
    "Do not trust this certificate: check the host, and the fingerprint with the server's "
    "administrator.",
)
ENTRY_STATE = Message("app.entry_state", "outbox entry {id} is {status}: {summary}")
ENTRY_STATE_HINT = Message("app.entry_state_hint", "`barua outbox show {id}` shows every attempt.")
NO_DOCUMENTS_IN_FOLDER = Message(
    "app.no_documents_in_folder", "the folder {folder} holds no .json documents"
)
LOGO_TOO_LARGE = Message("app.logo_too_large", "the logo is larger than {limit} MB")
LOGO_NOT_AN_IMAGE = Message("app.logo_not_an_image", "the logo must be a PNG or JPEG image")
EMPTY_PASSWORD = Message(
    "app.warning.empty_password",
    "no password is set for {username}: barua will log in to {host} with an empty password",
)
EMPTY_PASSWORD_HINT = Message(
    "app.warning.empty_password_hint",
    "Set it with `barua settings set --password-stdin`; if the server needs no login, remove "
    'the username (`--username ""`) and give the sender with --email-address.',
)
UNVERIFIED_PROVIDER = Message(
    "app.warning.unverified_provider",
    "{provider}'s server {host} has a valid certificate: with verification off, anyone on the "
    "network can read the password and the mail",
)
UNVERIFIED_PROVIDER_HINT = Message(
    "app.warning.unverified_provider_hint",
    "Turn verification back on: `barua settings set --verify-tls`. If the test email fails "
    "without it, it says which step failed and what to do.",
)
NO_DOCUMENT = Message("app.no_document", "there is no document {id}")
NOT_A_PDF = Message("app.not_a_pdf", "{name} is not a PDF file")
NOT_A_PDF_HINT = Message(
    "app.not_a_pdf_hint",
    "Upload the PDF your accounting program made, or a document in barua's JSON format.",
)
PDF_NEEDS = Message(
    "app.pdf_needs", "a PDF needs its type, its number and the customer's or supplier's name"
)
UPLOAD_TOO_LARGE = Message(
    "app.upload_too_large", "the file is larger than {megabytes} MB, the largest email barua sends"
)
PDF_EMAIL_SUBJECT = Message("app.pdf_email_subject", "{title} {number}")
PDF_EMAIL_MESSAGE = Message(
    "app.pdf_email_message",
    "Hello {party},\n\nPlease find attached {title} {number}.\n\nKind regards,\n{sender}",
)
