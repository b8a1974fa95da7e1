"""Use cases of businesses: list, add, rename, remove."""

from __future__ import annotations

from barua.app.context import Context
from barua.store.businesses import Business


class BusinessUseCases(Context):
    """The businesses one barua sends for."""

    def businesses(self) -> list[Business]:
        """Every business, oldest first."""
        return self.store.businesses()

    def add_business(self, name: str) -> Business:
        return self.store.add_business(name)

    def rename_business(self, business: Business, new_name: str) -> Business:
        return self.store.rename_business(business, new_name)

    def remove_business(self, business: Business) -> None:
        """Remove ``business``, its settings and files; refused while mail of it waits."""
        self.store.remove_business(business)
