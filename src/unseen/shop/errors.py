"""Errors a user can cause, raised by the shop's database functions and turned into clear answers by the app."""

from __future__ import annotations


class ShopError(Exception):
    """Base class: ``status_code`` and a message that names what was wrong and what was expected."""

    status_code = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(ShopError):
    status_code = 404


class Conflict(ShopError):
    status_code = 409


class Unauthorized(ShopError):
    status_code = 401


class Forbidden(ShopError):
    status_code = 403
