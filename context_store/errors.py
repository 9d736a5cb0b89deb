"""Errors of the context store. Driver errors are translated here, at the boundary."""


class StoreError(Exception):
    """PostgreSQL is unreachable or refused an operation."""


class RecordNotFound(StoreError):
    pass


class Duplicate(StoreError):
    pass
