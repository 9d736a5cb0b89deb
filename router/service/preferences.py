"""Customers' contact preferences: the preferred channel, time zone and language set by an admin or a
supervisor, and the time zone a phone number tells when none is set."""

from __future__ import annotations

import uuid

import asyncpg
import phonenumbers
from phonenumbers import timezone as phone_timezones

from context_store import campaigns as store
from context_store import customers
from context_store.records import Customer, CustomerPreferences
from router.contracts.campaigns import CustomerPreferencesOut, PreferencesIn
from router.errors import NotFound

UNKNOWN_ZONE = "Etc/Unknown"


def zone_of_number(phone: str | None) -> str | None:
    """The time zone of an E.164 number when libphonenumber knows exactly one (+82… → Asia/Seoul); None
    for a number that spans zones (+1 800…) or one it cannot place."""
    if not phone:
        return None
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return None
    zones = phone_timezones.time_zones_for_number(number)
    if len(zones) == 1 and zones[0] != UNKNOWN_ZONE:
        return str(zones[0])
    return None


async def phone_of(pool: asyncpg.Pool | asyncpg.Connection, customer: Customer) -> str | None:
    """The customer's phone number: the profile's, else the first phone identity."""
    if customer.phone:
        return customer.phone
    for identity in await customers.identities(pool, customer.id):
        if identity.kind == "phone":
            return identity.value
    return None


async def timezone_of(
    pool: asyncpg.Pool | asyncpg.Connection, customer: Customer, prefs: CustomerPreferences | None
) -> tuple[str | None, str | None]:
    """The customer's time zone and where it comes from (``set``, ``phone``), or (None, None)."""
    if prefs is not None and prefs.timezone:
        return prefs.timezone, "set"
    zone = zone_of_number(await phone_of(pool, customer))
    return (zone, "phone") if zone else (None, None)


async def read(pool: asyncpg.Pool, customer_id: uuid.UUID) -> CustomerPreferencesOut:
    customer = await customers.get(pool, customer_id)
    if customer is None:
        raise NotFound(f"customer {customer_id} not found")
    prefs = await store.preferences(pool, customer_id)
    zone, source = await timezone_of(pool, customer, prefs)
    return CustomerPreferencesOut(
        id=str(customer.id),
        name=customer.name,
        email=customer.email,
        phone=customer.phone,
        preferred_channel=prefs.preferred_channel if prefs else None,
        timezone=zone,
        timezone_source="set" if source == "set" else ("phone" if source == "phone" else None),
        language=prefs.language if prefs else None,
        updated_at=prefs.updated_at if prefs else None,
    )


async def update(
    pool: asyncpg.Pool, customer_id: uuid.UUID, change: PreferencesIn, actor: str
) -> CustomerPreferencesOut:
    if await customers.get(pool, customer_id) is None:
        raise NotFound(f"customer {customer_id} not found")
    values = {name: getattr(change, name) for name in change.model_fields_set}
    await store.set_preferences(pool, customer_id, values, actor)
    return await read(pool, customer_id)
