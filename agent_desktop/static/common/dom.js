// Small DOM and formatting helpers shared by the desktop and the wallboard.
//
// Every piece of text that came from the server (customer names, messages, notes, attributes)
// goes into the page through text nodes, never through innerHTML, so nothing a customer types
// can become markup.

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * Create an element. `props` keys:
 *   class, text, html is deliberately not supported;
 *   on<event>: listener; dataset: {k: v}; style: {prop: value};
 *   anything else becomes an attribute (false/null/undefined are skipped, true gives "").
 * Children may be nodes, strings, numbers, arrays, or null (skipped).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  applyProps(el, props);
  append(el, children);
  return el;
}

/** Same as h() for SVG elements. */
export function svg(tag, props = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  applyProps(el, props);
  append(el, children);
  return el;
}

function applyProps(el, props) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key === "class") {
      el.setAttribute("class", Array.isArray(value) ? value.filter(Boolean).join(" ") : value);
    } else if (key === "text") {
      el.textContent = String(value);
    } else if (key === "dataset") {
      for (const [k, v] of Object.entries(value)) if (v !== undefined && v !== null) el.dataset[k] = String(v);
    } else if (key === "style") {
      for (const [k, v] of Object.entries(value)) el.style.setProperty(k, String(v));
    } else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "value" && "value" in el && !(el instanceof SVGElement)) {
      el.value = String(value);
    } else if (key === "checked" || key === "disabled" || key === "hidden" || key === "selected") {
      el[key] = Boolean(value);
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
}

/** Append children (nodes, strings, arrays) to an element; strings become text nodes. */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Remove every child of an element. */
export function clear(el) {
  el.replaceChildren();
  return el;
}

/** Replace the children of an element. */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

// ---------------------------------------------------------------- time

/** Parse a server time (ISO 8601 string, or unix seconds) into a Date. */
export function toDate(value) {
  if (value === null || value === undefined || value === "") return null;
  if (value instanceof Date) return value;
  if (typeof value === "number") return new Date(value * 1000);
  let text = String(value);
  // A time without a zone is UTC on the wire.
  if (/T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text)) text += "Z";
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Unix seconds of a server time. */
export function toUnix(value) {
  const d = toDate(value);
  return d ? d.getTime() / 1000 : null;
}

export function nowUnix() {
  return Date.now() / 1000;
}

// Intl formatters with no time zone given use the browser's own time zone.
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const timeSecFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
});

/** "14:05" today, "Mar 3, 14:05" on another day. */
export function formatTime(value) {
  const d = toDate(value);
  if (!d) return "";
  const today = new Date();
  if (d.toDateString() === today.toDateString()) return timeFmt.format(d);
  return dateTimeFmt.format(d);
}

export function formatClock(value, withSeconds = false) {
  const d = toDate(value);
  if (!d) return "";
  return (withSeconds ? timeSecFmt : timeFmt).format(d);
}

/** Full date and time for title attributes and <time datetime>. */
export function formatFull(value) {
  const d = toDate(value);
  return d ? dateTimeFmt.format(d) : "";
}

/** 75 → "1:15", 3725 → "1:02:05". Negative durations count as zero. */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–";
  let s = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(s / 3600);
  s -= hours * 3600;
  const minutes = Math.floor(s / 60);
  s -= minutes * 60;
  const pad = (n) => String(n).padStart(2, "0");
  return hours ? `${hours}:${pad(minutes)}:${pad(s)}` : `${minutes}:${pad(s)}`;
}

/** A <time> element showing a server time in the browser's zone. */
export function timeEl(value, { long = false } = {}) {
  const d = toDate(value);
  if (!d) return h("span", { text: "" });
  return h("time", { datetime: d.toISOString(), title: formatFull(d), text: long ? formatFull(d) : formatTime(d) });
}

// ---------------------------------------------------------------- ticking labels

/** A span counting up from a unix time (kept current by startTicker). */
export function sinceEl(since, props = {}) {
  return h("span", { ...props, dataset: { since }, text: formatDuration(nowUnix() - since) });
}

/** A span counting down to a unix time (kept current by startTicker). */
export function untilEl(until, props = {}) {
  return h("span", { ...props, dataset: { until }, text: formatDuration(until - nowUnix()) });
}

/**
 * Elements with data-since (unix seconds) show the time elapsed; with data-until, the time left.
 * One timer for the whole page refreshes them every second; it reads the local clock only and
 * never talks to the server.
 */
export function startTicker(root = document, onTick = null) {
  const tick = () => {
    const now = nowUnix();
    for (const el of root.querySelectorAll("[data-since]")) {
      const since = Number(el.dataset.since);
      el.textContent = formatDuration(now - since);
    }
    for (const el of root.querySelectorAll("[data-until]")) {
      const until = Number(el.dataset.until);
      el.textContent = formatDuration(until - now);
    }
    if (onTick) onTick(now);
  };
  tick();
  return setInterval(tick, 1000);
}

// ---------------------------------------------------------------- misc

/** A web address that is safe to link to (http or https only), or null. */
export function safeUrl(value) {
  try {
    const url = new URL(String(value), window.location.href);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

/** 48213 → "47 KB". */
export function formatBytes(n) {
  if (typeof n !== "number" || !Number.isFinite(n)) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

/**
 * The attachments of a message: a link for http(s) addresses (opened in a new tab, without the
 * page as referrer), plain text for anything else.
 */
export function attachmentList(attachments) {
  if (!attachments || !attachments.length) return null;
  return h(
    "ul",
    { class: "attachments", "aria-label": "Attachments" },
    attachments.map((a) => {
      const name = a.filename || a.url || "attachment";
      const meta = [a.content_type, formatBytes(a.size)].filter(Boolean).join(", ");
      const href = a.url ? safeUrl(a.url) : null;
      return h(
        "li",
        {},
        href ? h("a", { href, target: "_blank", rel: "noopener noreferrer", text: name }) : h("span", { text: name }),
        meta ? h("span", { class: "muted small", text: ` (${meta})` }) : null,
      );
    }),
  );
}

/** "intent" → "Intent", "account_id" → "Account id". */
export function humanize(key) {
  const text = String(key).replace(/[_\-.]+/g, " ").trim();
  return text ? text[0].toUpperCase() + text.slice(1) : "";
}

/** A short printable form of an attribute value. */
export function formatValue(value) {
  if (value === true) return "yes";
  if (value === false) return "no";
  if (value === null || value === undefined) return "–";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}
