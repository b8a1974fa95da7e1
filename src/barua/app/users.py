"""Use cases of the people who use the web app and of the programs using its API: the first
user's setup link, signing in and out, sessions, other users, API tokens."""

from __future__ import annotations

from barua.app.context import Context
from barua.i18n import resolve_language
from barua.store.businesses import Business
from barua.store.users import AccessError, ApiToken, Session, User

__all__ = ["AccessError", "ApiToken", "Session", "User", "UserUseCases"]


class UserUseCases(Context):
    """Users, sessions and API tokens."""

    # The first user ----------------------------------------------------------------------------

    def needs_setup(self) -> bool:
        """True while nobody can sign in: the web app then offers only the setup link."""
        return self.users.count() == 0

    def setup_link_token(self) -> str | None:
        """A new one-time token for the first user (valid an hour); None once a user exists."""
        if not self.needs_setup():
            return None
        return self.users.create_setup_link()

    def setup_link_valid(self, token: str) -> bool:
        return self.users.setup_link_valid(token)

    def set_up_first_user(
        self, token: str, username: str, password: str, *, lang: str | None = None
    ) -> tuple[str, Session]:
        """Spend the setup link on the first user, who is then signed in: the session's
        cookie token and the session."""
        user = self.users.use_setup_link(token, username, password)
        if lang:
            self.users.set_language(user.id, resolve_language(lang))
        return self.users.open_session(self.users.user(user.id))

    # Signing in --------------------------------------------------------------------------------

    def log_in(self, username: str, password: str, *, address: str) -> tuple[str, Session]:
        """Check the password (slowed down after wrong ones) and open a session: the cookie's
        token and the session. Raises :class:`AccessError`."""
        user = self.users.verify(username, password, address=address)
        return self.users.open_session(user)

    def web_session(self, token: str) -> Session | None:
        """The live session of a cookie's token, or None."""
        return self.users.session(token) if token else None

    def log_out(self, token: str) -> None:
        self.users.close_session(token)

    # Users -------------------------------------------------------------------------------------

    def user_list(self) -> list[User]:
        return self.users.users()

    def add_user(self, username: str, password: str, *, lang: str | None = None) -> User:
        return self.users.add(username, password, language=resolve_language(lang) if lang else None)

    def remove_user(self, user_id: int) -> None:
        self.users.remove(user_id)

    def change_password(self, user: User, current: str, new: str, *, address: str) -> None:
        """A new password for ``user``, who proves the current one; every session ends."""
        self.users.verify(user.username, current, address=address)
        self.users.set_password(user.id, new)

    def set_user_language(self, user: User, lang: str) -> str:
        chosen = resolve_language(lang)
        self.users.set_language(user.id, chosen)
        return chosen

    # API tokens --------------------------------------------------------------------------------

    def create_api_token(
        self, business: Business, name: str, *, created_by: User | None
    ) -> tuple[str, ApiToken]:
        """A token a program uses for ``business`` through the API; the token is shown once."""
        return self.users.create_api_token(
            business.key, name, created_by=created_by.id if created_by else None
        )

    def api_tokens(self, business: Business) -> list[ApiToken]:
        return self.users.api_tokens(business.key)

    def revoke_api_token(self, business: Business, token_id: int) -> None:
        if any(token.id == token_id for token in self.users.api_tokens(business.key)):
            self.users.revoke_api_token(token_id)

    def api_business(self, token: str) -> tuple[Business, ApiToken] | None:
        """The business a live API token is for, and the token; None for any other token."""
        found = self.users.api_token(token) if token else None
        if found is None:
            return None
        for business in self.store.businesses():
            if business.key == found.business_key:
                return business, found
        return None
