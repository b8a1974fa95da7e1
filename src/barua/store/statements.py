"""Every SQL statement of the settings store, by name; values come in as bound parameters."""

from __future__ import annotations

from sqlalchemy import bindparam, delete, func, insert, select, update

from barua.database.tables import business_files, businesses, messages, oauth_tokens

BUSINESSES = select(
    businesses.c.key,
    businesses.c.name,
    businesses.c.created_at,
    businesses.c.settings_version,
    businesses.c.settings.is_not(None).label("has_settings"),
).order_by(businesses.c.created_at, businesses.c.key)
"""Every business, oldest first."""

BUSINESS_BY_NAME = BUSINESSES.where(businesses.c.folded_name == bindparam("p_folded"))

INSERT_BUSINESS = insert(businesses)

RENAME_BUSINESS = (
    update(businesses)
    .where(businesses.c.key == bindparam("p_key"))
    .values(name=bindparam("p_name"), folded_name=bindparam("p_folded"))
)

LOCK_BUSINESS = (
    select(businesses.c.key).where(businesses.c.key == bindparam("p_key")).with_for_update()
)

DELETE_BUSINESS = delete(businesses).where(businesses.c.key == bindparam("p_key"))
DELETE_BUSINESS_FILES = delete(business_files).where(
    business_files.c.business_key == bindparam("p_key")
)

WAITING_MAIL = select(func.count()).where(
    messages.c.profile == bindparam("p_key"),
    messages.c.status.in_(["queued", "deferred", "sending"]),
)
"""How many emails of a business are still to be sent (a business with mail cannot go)."""

SETTINGS = select(businesses.c.settings, businesses.c.settings_version).where(
    businesses.c.key == bindparam("p_key")
)

SAVE_SETTINGS = (
    update(businesses)
    .where(
        businesses.c.key == bindparam("p_key"),
        businesses.c.settings_version == bindparam("p_expected"),
    )
    .values(
        settings=bindparam("p_settings"),
        settings_version=businesses.c.settings_version + 1,
        settings_updated_at=bindparam("p_now"),
    )
)
"""Replace the settings read at version ``expected``; matches nothing when another process
saved in between (the caller reads again and retries: no change is lost)."""

VERSIONS = select(businesses.c.key, businesses.c.settings_version)
"""Each business's settings version: cheap enough for a worker to ask every second."""

FILE = select(business_files.c.data).where(
    business_files.c.business_key == bindparam("p_key"),
    business_files.c.name == bindparam("p_name"),
)
FILE_NAMES = select(business_files.c.name).where(
    business_files.c.business_key == bindparam("p_key")
)
INSERT_FILE = insert(business_files)
DELETE_FILE = delete(business_files).where(
    business_files.c.business_key == bindparam("p_key"),
    business_files.c.name == bindparam("p_name"),
)

SIGN_IN = select(oauth_tokens).where(oauth_tokens.c.business_key == bindparam("p_key"))
DELETE_SIGN_IN = delete(oauth_tokens).where(oauth_tokens.c.business_key == bindparam("p_key"))
INSERT_SIGN_IN = insert(oauth_tokens)

CLAIM_REFRESH = (
    update(oauth_tokens)
    .where(
        oauth_tokens.c.business_key == bindparam("p_key"),
        oauth_tokens.c.version == bindparam("p_version"),
        (oauth_tokens.c.refreshing_until.is_(None))
        | (oauth_tokens.c.refreshing_until < bindparam("p_now")),
    )
    .values(refreshing_by=bindparam("p_holder"), refreshing_until=bindparam("p_until"))
)
"""Take the right to refresh the tokens read at ``version``: matches nothing when another
process holds it, or has already refreshed them (the version moved on)."""

FINISH_REFRESH = (
    update(oauth_tokens)
    .where(
        oauth_tokens.c.business_key == bindparam("p_key"),
        oauth_tokens.c.refreshing_by == bindparam("p_holder"),
    )
    .values(
        access_token=bindparam("p_access"),
        refresh_token=bindparam("p_refresh"),
        expires_at=bindparam("p_expires"),
        version=oauth_tokens.c.version + 1,
        refreshing_by=None,
        refreshing_until=None,
        failure=None,
        updated_at=bindparam("p_now"),
    )
)
"""Keep the refreshed tokens (a rotated refresh token replaces the old one in the same row)."""

FAIL_REFRESH = (
    update(oauth_tokens)
    .where(
        oauth_tokens.c.business_key == bindparam("p_key"),
        oauth_tokens.c.refreshing_by == bindparam("p_holder"),
    )
    .values(
        failure=bindparam("p_failure"),
        refreshing_by=None,
        refreshing_until=None,
        version=oauth_tokens.c.version + 1,
        updated_at=bindparam("p_now"),
    )
)
"""Give the right back; with a failure, the sign-in is known to be dead (``invalid_grant``)."""
