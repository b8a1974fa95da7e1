"""The application object: every use case, composed from one class per area."""

from __future__ import annotations

from barua.app.backups import BackupUseCases
from barua.app.businesses import BusinessUseCases
from barua.app.documents import DocumentUseCases
from barua.app.library import LibraryUseCases
from barua.app.oauth import OAuthUseCases
from barua.app.operations import OperationsUseCases
from barua.app.outbox import OutboxUseCases
from barua.app.relay import RelayUseCases
from barua.app.schema import SchemaUseCases
from barua.app.sending import SendingUseCases
from barua.app.settings import SettingsUseCases
from barua.app.testing import TestingUseCases
from barua.app.users import UserUseCases
from barua.app.workers import WorkerUseCases


class Barua(
    LibraryUseCases,
    TestingUseCases,
    SendingUseCases,
    DocumentUseCases,
    WorkerUseCases,
    OAuthUseCases,
    RelayUseCases,
    SettingsUseCases,
    BusinessUseCases,
    OutboxUseCases,
    UserUseCases,
    OperationsUseCases,
    BackupUseCases,
    SchemaUseCases,
):
    """barua, opened on a home folder and a database: every use case is a method.

    Open it once per process with the :class:`~barua.environment.Environment` read at
    start-up; close it (or use it as a context manager) to release the database.
    """
