// The channel table, as the server has it (GET /v1/meta): the channels in their order, with each
// one's label, arrival words, icon and whether it carries text. Fetched once when a page starts;
// the pages keep no copy of these facts.

import { svg } from "./dom.js";

const META_URL = "/v1/meta";
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 15000;
// Drawn for a channel the table does not name (a server newer than the page is one way).
const UNKNOWN_ICON = "M12 4a8 8 0 1 0 0 16 8 8 0 0 0 0-16z";

let table = [];
let byName = new Map();

/**
 * Fetch the channel table; until the server answers, retry with a doubling delay. Every page
 * awaits this before it draws anything that depends on a channel.
 */
export async function loadChannels() {
  let delay = RETRY_FIRST_MS;
  for (;;) {
    try {
      const response = await fetch(new URL(META_URL, window.location.href), { cache: "no-store" });
      if (!response.ok) throw new Error(`${META_URL} answered ${response.status}`);
      const meta = await response.json();
      setChannels(meta.channels);
      return table;
    } catch (err) {
      console.warn(`channel table not loaded (${err.message}); retrying in ${delay} ms`);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, RETRY_MAX_MS);
    }
  }
}

function setChannels(channels) {
  if (!Array.isArray(channels) || !channels.every((c) => c && typeof c.name === "string")) {
    throw new Error(`${META_URL} has no channel list`);
  }
  table = channels.map((c) => Object.freeze({ ...c }));
  byName = new Map(table.map((c) => [c.name, c]));
}

/** Every channel, in the server's order. */
export function channelList() {
  return table;
}

/** The channel names, in the server's order. */
export function channelNames() {
  return table.map((c) => c.name);
}

/** What the server says of one channel, or null for a channel it does not name. */
export function channelInfo(name) {
  return byName.get(name) || null;
}

/** "Call", "E-mail"…; the name itself for a channel the table does not know. */
export function channelLabel(name) {
  const c = byName.get(name);
  return (c && c.label) || String(name);
}

/** "Incoming call", "New chat"…: the words of an offer's title. */
export function arrivalWords(name) {
  const c = byName.get(name);
  return (c && c.arrival) || channelLabel(name);
}

/** Whether work on this channel is a written conversation (a transcript and a reply box). */
export function isTextChannel(name) {
  const c = byName.get(name);
  return Boolean(c && c.text);
}

/** Whether the channel can do this ("voice", "subject", "media"…) when no adapter says otherwise. */
export function hasCapability(name, capability) {
  const c = byName.get(name);
  return Boolean(c && Array.isArray(c.capabilities) && c.capabilities.includes(capability));
}

/** An icon for a channel, hidden from screen readers (the label next to it is read instead). */
export function channelIcon(name) {
  const c = byName.get(name);
  return svg(
    "svg",
    { class: `icon channel-${name}`, viewBox: "0 0 24 24", "aria-hidden": "true", focusable: "false" },
    svg("path", { d: (c && c.icon) || UNKNOWN_ICON, fill: "currentColor" }),
  );
}
