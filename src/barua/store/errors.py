"""The messages of the settings store: businesses, saved settings, their secrets."""

from __future__ import annotations

from barua.texts import Message, Text

# Businesses
NO_BUSINESS = Message("store.no_business", 'there is no business named "{name}"')
NO_BUSINESS_HINT = Message(
    "store.no_business_hint", "`barua business list` shows the businesses: {names}."
)
WHICH_BUSINESS = Message(
    "store.which_business", "there are several businesses; say which one: {names}"
)
WHICH_BUSINESS_HINT = Message(
    "store.which_business_hint", 'Give --business NAME, e.g. --business "{example}".'
)
BUSINESS_EXISTS = Message("store.business_exists", 'there is already a business named "{name}"')
BUSINESS_EXISTS_HINT = Message(
    "store.business_exists_hint", "Choose another name, or use the business that is there."
)
BUSINESS_NAME_EMPTY = Message("store.business_name_empty", "the business name must not be empty")
BUSINESS_NAME_LONG = Message(
    "store.business_name_long", "the business name must be at most {limit} characters"
)
BUSINESS_NAME_CONTROL = Message(
    "store.business_name_control", "the business name must not contain control characters"
)
BUSINESS_NAME_HINT = Message(
    "store.business_name_hint", 'Give a name such as "Duka la Amani" (spaces are fine).'
)
BUSINESS_HAS_MAIL = Message(
    "store.business_has_mail",
    'the business "{name}" still has {count} email(s) waiting in the outbox',
)
BUSINESS_HAS_MAIL_HINT = Message(
    "store.business_has_mail_hint",
    "Let the worker send them, or cancel them (`barua outbox list --business NAME` shows "
    "them), then remove the business.",
)
CHANGED_MEANWHILE = Message(
    "store.changed_meanwhile", "the settings of {name} kept changing while they were saved"
)
CHANGED_MEANWHILE_HINT = Message(
    "store.changed_meanwhile_hint", "Save them again: nothing was changed by this attempt."
)

# The saved settings document (an export, or a settings.json of an earlier version)
NOT_UTF8 = Message("store.not_utf8", "the saved settings in {source} are damaged: not UTF-8 text")
NOT_JSON = Message(
    "store.not_json",
    "the saved settings in {source} are damaged: not valid JSON ({reason} at line {line}, "
    "column {column})",
)
DAMAGED_HINT = Message(
    "store.damaged_hint", "Move the file aside (or delete it) and save the settings again."
)
NEWER_FORMAT = Message(
    "store.newer_format",
    "the saved settings in {source} were written by a newer version of barua (format {version})",
)
NEWER_FORMAT_HINT = Message("store.newer_format_hint", "Upgrade barua to read them.")
UNKNOWN_FORMAT = Message(
    "store.unknown_format", "the saved settings in {source} are not in a format barua knows"
)
SECRET_IN_CLEAR = Message(
    "store.secret_in_clear", "the saved settings in {source} hold {field} unencrypted or damaged"
)
SECRET_IN_CLEAR_HINT = Message(
    "store.secret_in_clear_hint",
    "Remove {field} from them and set it again with barua, which encrypts it.",
)
CANNOT_READ_FILE = Message("store.cannot_read_file", "{path} cannot be read: {reason}")
CANNOT_READ_FILE_HINT = Message(
    "store.cannot_read_file_hint", "Check that the file belongs to the user running barua."
)
CANNOT_WRITE_FILE = Message("store.cannot_write_file", "{path} cannot be written: {reason}")
CANNOT_WRITE_FILE_HINT = Message(
    "store.cannot_write_file_hint",
    "Check that the folder belongs to the user running barua and that the disk is not full.",
)

# Where a problem with the settings came from
FIX_VARIABLE = Message("store.fix_variable", "Correct the environment variable {names}.")
FIX_VARIABLES = Message("store.fix_variables", "Correct the environment variables {names}.")


def fix_variables(names: list[str]) -> Text:
    """The hint naming the environment variables at fault (one, or several)."""
    return (FIX_VARIABLES if len(names) > 1 else FIX_VARIABLE)(names=", ".join(names))


FIX_SAVED = Message(
    "store.fix_saved", "The saved settings of {business} hold this: correct them and save again."
)
NOTHING_SAVED_YET = Message(
    "store.nothing_saved_yet",
    "Nothing is saved for {business} yet: save the settings, or give the missing values with "
    "the BARUA_* environment variables.",
)
VARIABLE_PROBLEM = Message("store.variable_problem", "{variable}: {problem}")
NOT_A_BOOLEAN = Message(
    "store.not_a_boolean",
    "{variable}: {field} must be true or false (1/0, true/false or yes/no)",
)

# Users of the web app, their sessions, setup links and API tokens
USERNAME_EMPTY = Message("store.username_empty", "the username must not be empty")
USERNAME_INVALID = Message(
    "store.username_invalid",
    "the username must be at most {limit} characters, without control characters",
)
USERNAME_TAKEN = Message("store.username_taken", 'there is already a user named "{name}"')
PASSWORD_SHORT = Message(
    "store.password_short", "the password must be at least {minimum} characters long"
)
PASSWORD_LONG = Message(
    "store.password_long", "the password must be at most {maximum} characters long"
)
PASSWORD_IS_USERNAME = Message(
    "store.password_is_username", "the password must not be the username"
)
PASSWORD_HINT = Message(
    "store.password_hint",
    "A few unrelated words make a password that is long and easy to remember.",
)
WRONG_LOGIN = Message("store.wrong_login", "wrong username or password")
TOO_MANY_ATTEMPTS = Message(
    "store.too_many_attempts",
    "too many wrong passwords: try again in {minutes} minutes",
)
SETUP_LINK_INVALID = Message(
    "store.setup_link_invalid",
    "this setup link is not valid: it was used already, it expired, or it was mistyped",
)
SETUP_LINK_HINT = Message(
    "store.setup_link_hint",
    "Restart `barua serve` to get a new setup link, or ask a user who can sign in to add you.",
)
NO_USER = Message("store.no_user", "there is no such user")
LAST_USER = Message(
    "store.last_user", "the last user cannot be removed: nobody could sign in any more"
)
API_TOKEN_NAME_EMPTY = Message("store.api_token_name_empty", "the token needs a name")
