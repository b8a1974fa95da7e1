"""Every table of barua's database, defined once (SQLite by default, PostgreSQL to share).

Times are seconds since the epoch (UTC) in double-precision columns: they compare the same
way in both databases and cost no parsing. Tables::

    businesses          one row per business: its name and its email settings (secrets
                        encrypted), with a version that grows with every change
    business_files      a business's own files: edited email templates, its logo
    oauth_tokens        a business's sign-in with its provider: tokens (encrypted), expiry
    outbox_messages     one row per email: envelope, status, lease, last error
    outbox_recipients   one row per envelope recipient, with what the server said to it
    outbox_pieces       the message's bytes as an ordered list of blobs
    outbox_blobs        content-addressed bytes (sha256), shared by every message holding them
    outbox_attempts     the delivery log: append-only, one row per attempt
    outbox_pauses       businesses whose queue waits (the server refused the login)
    outbox_meta         small values of the installation (the fingerprint salt)
    schema_migrations   which schema versions ran, and the barua release each needs
    alembic_version     the Alembic revision the schema is at (Alembic's own table)
    users               the people who sign in to the web app (argon2 password hashes)
    web_sessions        their sessions: a hash of the cookie's token, the CSRF token, expiry
    setup_links         one-time links that let the first user choose a password (hashed)
    login_attempts      recent sign-in attempts, to slow down whoever guesses passwords
    api_tokens          tokens of business programs using the API (hashed), one business each
    documents           documents pushed or uploaded to the web app: JSON or a PDF
    relay_keys          the relay's API keys (hashed): senders allowed, rate, daily quota
    relay_messages      each message the relay accepted: its id, key and outbox entry
    relay_idempotency   each decision of the relay (202, 422) by key and Message-ID, 24 hours
    relay_suppressed    addresses a key no longer sends to (they bounced for good)
    relay_config        the relay's own settings: sending address, DKIM key (encrypted)

The statements that use them live beside their users: :mod:`barua.outbox.schema` and
:mod:`barua.database.statements`.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

# SQLite makes an INTEGER PRIMARY KEY the rowid; PostgreSQL gets a 64-bit identity.
_Id = BigInteger().with_variant(Integer(), "sqlite")

blobs = Table(
    "outbox_blobs",
    metadata,
    Column("digest", String(71), primary_key=True),
    Column("size", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
)

messages = Table(
    "outbox_messages",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("message_id", Text, nullable=False),
    Column("idempotency_key", Text, nullable=True, unique=True),
    Column("profile", String(100), nullable=False),
    Column("settings_fingerprint", String(64), nullable=False),
    Column("sender", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("size", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
    Column("next_attempt_at", Double, nullable=True),
    Column("lease_owner", String(64), nullable=True),
    Column("sent_at", Double, nullable=True),
    Column("last_error", Text, nullable=True),
    # Migration 3: the last error as a code with its values (JSON), to show in any language.
    Column("last_error_text", Text, nullable=True),
    Column("last_error_class", String(100), nullable=True),
    Column("last_step", String(32), nullable=True),
    Column("last_code", Integer, nullable=True),
    Column("last_reply", Text, nullable=True),
    Column("queue_id", Text, nullable=True),
    # Migration 2: true when the bytes go into SMTP DATA as they are (checked at enqueue).
    Column("wire_ready", Boolean, nullable=True),
    # Migration 6: when a person last asked to send it again (the creation time stays).
    Column("retried_at", Double, nullable=True),
    # With the id, the index gives the claim's order itself (PostgreSQL would otherwise sort
    # every due message to take the first few; SQLite's indexes end with the rowid anyway).
    Index("outbox_messages_due", "profile", "next_attempt_at", "id"),
    Index("outbox_messages_status", "status", "created_at"),
    # Version 6: a business's entries newest first, and counted by status, without reading
    # the other businesses' (the web app's outbox page with 100,000 entries).
    Index("outbox_messages_business", "profile", "id"),
    Index("outbox_messages_business_status", "profile", "status", "id"),
)

recipients = Table(
    "outbox_recipients",
    metadata,
    Column("message_pk", _Id, ForeignKey("outbox_messages.id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("address", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("code", Integer, nullable=True),
    Column("reply", Text, nullable=True),
    Column("updated_at", Double, nullable=False),
)

pieces = Table(
    "outbox_pieces",
    metadata,
    Column("message_pk", _Id, ForeignKey("outbox_messages.id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("digest", String(71), ForeignKey("outbox_blobs.digest"), nullable=False),
    Index("outbox_pieces_digest", "digest"),
)

attempts = Table(
    "outbox_attempts",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("message_pk", _Id, ForeignKey("outbox_messages.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("worker", String(64), nullable=False),
    Column("started_at", Double, nullable=False),
    Column("duration", Double, nullable=False),
    Column("server", Text, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("code", Integer, nullable=True),
    Column("reply", Text, nullable=True),
    Column("error_class", String(100), nullable=True),
    Column("step", String(32), nullable=True),
    Column("error", Text, nullable=True),
    Column("error_text", Text, nullable=True),
    Column("detail", Text, nullable=True),
    Index("outbox_attempts_message", "message_pk", "number"),
    Index("outbox_attempts_started", "started_at"),
)

pauses = Table(
    "outbox_pauses",
    metadata,
    Column("profile", String(100), primary_key=True),
    Column("settings_fingerprint", String(64), nullable=False),
    Column("paused_at", Double, nullable=False),
    Column("reason", Text, nullable=False),
    Column("reason_text", Text, nullable=True),
    Column("hint", Text, nullable=True),
    Column("step", String(32), nullable=True),
    Column("code", Integer, nullable=True),
    Column("reply", Text, nullable=True),
)

meta = Table(
    "outbox_meta",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

migrations_table = Table(
    "schema_migrations",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("description", Text, nullable=False),
    Column("applied_at", Double, nullable=False),
    # From version 6 on: the first barua release that knows this version, so an older one
    # finding it can say which release to install.
    Column("barua_version", String(32), nullable=True),
)


businesses = Table(
    "businesses",
    metadata,
    # A key that never changes once made: outbox messages name their business by it (in
    # ``outbox_messages.profile``), so renaming a business touches one row.
    Column("key", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    # The name as compared: "Duka la Amani" and "duka la amani" are one business.
    Column("folded_name", String(200), nullable=False, unique=True),
    Column("created_at", Double, nullable=False),
    # {"format": 1, "settings": {...}}: the settings, secrets as {"fernet": "..."} tokens.
    Column("settings", Text, nullable=True),
    Column("settings_version", Integer, nullable=False, default=0),
    Column("settings_updated_at", Double, nullable=True),
)

business_files = Table(
    "business_files",
    metadata,
    Column("business_key", String(64), ForeignKey("businesses.key"), primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("data", LargeBinary, nullable=False),
    Column("updated_at", Double, nullable=False),
)

oauth_tokens = Table(
    "oauth_tokens",
    metadata,
    Column("business_key", String(64), ForeignKey("businesses.key"), primary_key=True),
    # Who signed in (the mailbox), as the provider names them.
    Column("account", Text, nullable=True),
    # Fernet tokens, like the secrets of the settings.
    Column("access_token", Text, nullable=False),
    Column("refresh_token", Text, nullable=True),
    Column("expires_at", Double, nullable=False),
    Column("version", Integer, nullable=False, default=0),
    # One refresh at a time, whatever the number of workers: the one holding the lease.
    Column("refreshing_by", String(64), nullable=True),
    Column("refreshing_until", Double, nullable=True),
    # Why the last refresh failed for good (``invalid_grant``): a new sign-in is needed.
    Column("failure", String(64), nullable=True),
    Column("updated_at", Double, nullable=False),
)


users = Table(
    "users",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("username", Text, nullable=False),
    # The name as compared: "Amina" and "amina " are one user.
    Column("folded_username", String(200), nullable=False, unique=True),
    # argon2id, with its parameters and salt (PHC string format).
    Column("password_hash", Text, nullable=False),
    Column("language", String(8), nullable=True),
    Column("created_at", Double, nullable=False),
    Column("last_login_at", Double, nullable=True),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    # SHA-256 of the cookie's random token: the database alone cannot sign anyone in.
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", _Id, ForeignKey("users.id"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", Double, nullable=False),
    Column("last_seen_at", Double, nullable=False),
    Column("expires_at", Double, nullable=False),
    Index("web_sessions_user", "user_id"),
)

setup_links = Table(
    "setup_links",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("created_at", Double, nullable=False),
    Column("expires_at", Double, nullable=False),
    Column("used_at", Double, nullable=True),
)

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("folded_username", String(200), nullable=False),
    Column("address", String(64), nullable=False),
    Column("at", Double, nullable=False),
    Column("ok", Boolean, nullable=False),
    Index("login_attempts_user", "folded_username", "at"),
    Index("login_attempts_address", "address", "at"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    # The token's first characters, to tell tokens apart in a list without the token.
    Column("prefix", String(16), nullable=False),
    Column("name", Text, nullable=False),
    Column("business_key", String(64), ForeignKey("businesses.key"), nullable=False),
    Column("created_by", _Id, ForeignKey("users.id"), nullable=True),
    Column("created_at", Double, nullable=False),
    Column("last_used_at", Double, nullable=True),
    Column("revoked_at", Double, nullable=True),
)

documents = Table(
    "documents",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("business_key", String(64), ForeignKey("businesses.key"), nullable=False),
    # "json" (a document in barua's schema, rendered to PDF) or "pdf" (made elsewhere).
    Column("source", String(8), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("number", Text, nullable=False),
    Column("party", Text, nullable=False),
    # The customer's or supplier's addresses, comma-separated as typed.
    Column("email", Text, nullable=True),
    Column("issue_date", String(10), nullable=True),
    Column("total", Text, nullable=True),
    Column("currency", String(8), nullable=True),
    Column("filename", Text, nullable=False),
    Column("content", LargeBinary, nullable=False),
    # SHA-256 of the content: the same document pushed twice is one row.
    Column("digest", String(64), nullable=False),
    Column("created_at", Double, nullable=False),
    # The last email of it: its outbox entry (its status is read there).
    Column("message_pk", _Id, nullable=True),
    Index("documents_business", "business_key", "created_at"),
    Index("documents_digest", "business_key", "digest", unique=True),
)


relay_keys = Table(
    "relay_keys",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    Column("folded_name", String(200), nullable=False, unique=True),
    # SHA-256 of the key: the database alone cannot send mail.
    Column("key_hash", String(64), nullable=False, unique=True),
    # The key's first characters, to tell keys apart in a list without the key.
    Column("prefix", String(16), nullable=False),
    # JSON: the addresses and @domains the key may send as.
    Column("senders", Text, nullable=False),
    Column("rate_per_minute", Integer, nullable=True),
    Column("daily_quota", Integer, nullable=True),
    # The address its mail is sent from, instead of the relay's.
    Column("from_address", Text, nullable=True),
    # "enabled", "disabled" (403) or "revoked" (401).
    Column("status", String(16), nullable=False),
    Column("created_at", Double, nullable=False),
    # The rate limit's bucket: messages it may still send now, as of bucket_at.
    Column("bucket_tokens", Double, nullable=True),
    Column("bucket_at", Double, nullable=True),
    # The daily quota: the day (UTC, YYYY-MM-DD) counted, and how many were accepted then.
    Column("quota_day", String(10), nullable=True),
    Column("quota_used", Integer, nullable=False, default=0),
)

relay_messages = Table(
    "relay_messages",
    metadata,
    # The id the relay answered with (msg_...), also in the message's bounce address.
    Column("id", String(64), primary_key=True),
    # The key's id; 0 for open mode's shared identity.
    Column("identity", _Id, nullable=False),
    Column("outbox_pk", _Id, nullable=True),
    Column("mail_from", Text, nullable=False),
    Column("message_id", Text, nullable=False),
    Column("created_at", Double, nullable=False),
    Index("relay_messages_outbox", "outbox_pk"),
)

relay_idempotency = Table(
    "relay_idempotency",
    metadata,
    Column("identity", _Id, primary_key=True),
    Column("message_id", Text, primary_key=True),
    # SHA-256 of the envelope and the MIME: the same request, or another with this Message-ID.
    Column("fingerprint", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("answer", Text, nullable=False),
    Column("created_at", Double, nullable=False),
    Index("relay_idempotency_created", "created_at"),
)

relay_suppressed = Table(
    "relay_suppressed",
    metadata,
    Column("identity", _Id, primary_key=True),
    # The address with its domain in lower case.
    Column("address", Text, primary_key=True),
    Column("code", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", Double, nullable=False),
)

relay_config = Table(
    "relay_config",
    metadata,
    Column("key", String(100), primary_key=True),
    # JSON; the DKIM key as {"fernet": "..."}, like the secrets of the settings.
    Column("value", Text, nullable=False),
)
