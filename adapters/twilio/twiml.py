"""A tiny TwiML document builder (the XML Twilio executes for a call).

Only the verbs the voice adapter uses: ``<Say>``, ``<Gather>``, ``<Pause>``, ``<Play>``,
``<Redirect>``, ``<Dial>`` (with ``<Client>``, ``<Sip>`` or ``<Number>``) and ``<Hangup>``.
Text is escaped by ElementTree, so caller-provided values can never inject markup.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, SubElement, tostring

from aiohttp import web


class TwiML:
    def __init__(self, *, voice: str | None = None, language: str | None = None) -> None:
        self.root = Element("Response")
        self._voice = voice
        self._language = language

    def say(self, text: str, parent: Element | None = None) -> TwiML:
        node = SubElement(self.root if parent is None else parent, "Say")
        if self._voice:
            node.set("voice", self._voice)
        if self._language:
            node.set("language", self._language)
        node.text = text
        return self

    def gather(self, action: str, prompt: str | None, **attributes: str) -> TwiML:
        """Collect digits or speech for ``action``; ``prompt`` is said meanwhile (None: nothing is said)."""
        node = SubElement(self.root, "Gather", {"action": action, "method": "POST", **attributes})
        if self._language and "speech" in attributes.get("input", ""):
            node.set("language", self._language)
        if prompt is not None:
            self.say(prompt, node)
        return self

    def pause(self, seconds: int) -> TwiML:
        SubElement(self.root, "Pause", {"length": str(max(1, seconds))})
        return self

    def play(self, url: str) -> TwiML:
        SubElement(self.root, "Play").text = url
        return self

    def redirect(self, url: str) -> TwiML:
        SubElement(self.root, "Redirect", {"method": "POST"}).text = url
        return self

    def dial(self, address: str, *, action: str | None, timeout: int, caller_id: str | None = None) -> TwiML:
        """Bridge to ``client:name``, a ``sip:`` URI or a phone number (``action``: where Twilio posts
        when the bridge ends; None: the call ends with it)."""
        attributes = {"timeout": str(timeout), "answerOnBridge": "true"}
        if action is not None:
            attributes.update(action=action, method="POST")
        dial = SubElement(self.root, "Dial", attributes)
        if caller_id:
            dial.set("callerId", caller_id)
        lowered = address.lower()
        if lowered.startswith("client:"):
            SubElement(dial, "Client").text = address[len("client:") :]
        elif lowered.startswith(("sip:", "sips:")):
            SubElement(dial, "Sip").text = address
        else:
            number = address[len("tel:") :] if lowered.startswith("tel:") else address
            SubElement(dial, "Number").text = number
        return self

    def hangup(self) -> TwiML:
        SubElement(self.root, "Hangup")
        return self

    def render(self) -> str:
        return '<?xml version="1.0" encoding="UTF-8"?>' + tostring(self.root, encoding="unicode")

    def response(self) -> web.Response:
        return web.Response(text=self.render(), content_type="text/xml")
