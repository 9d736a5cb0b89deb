"""Splitting an agent's long reply into the parts a provider accepts in one message."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from router.sdk.adapter import DeliveryError

# Longest text body of one provider message, in characters.
SMS_LIMIT = 1600  # Twilio Messages API
WHATSAPP_LIMIT = 4096  # Cloud API text.body
MESSENGER_LIMIT = 2000  # Send API message.text


def split_text(text: str, limit: int) -> list[str]:
    """Parts of at most ``limit`` characters, cut at a line break or a space when one is near."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit + 1)
        if cut < limit // 2:
            cut = rest.rfind(" ", 0, limit + 1)
        if cut < limit // 2:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not parts:
        parts.append(rest)
    return parts


async def send_parts(parts: list[str], send_one: Callable[[str], Awaitable[str | None]]) -> str | None:
    """Send each part in order; the provider id of the first. A failure after the first part is
    permanent, so that a retry cannot deliver the earlier parts twice."""
    first: str | None = None
    for index, part in enumerate(parts):
        try:
            provider_id = await send_one(part)
        except DeliveryError as exc:
            if index == 0:
                raise
            raise DeliveryError(
                f"sent {index} of {len(parts)} parts, then: {exc.detail}", retryable=False, status=exc.status
            ) from exc
        if index == 0:
            first = provider_id
    return first
