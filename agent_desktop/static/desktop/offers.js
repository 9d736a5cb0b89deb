// Offer cards: what is offered, to whom it belongs, why it came here, and how long is left.

import { formatDuration, formatValue, h, humanize, nowUnix } from "../common/dom.js";
import { arrivalWords, channelIcon } from "../common/channels.js";
import { collisionWarning } from "./supervision.js";

const REVOKE_WORDS = {
  timeout: "the time to accept ran out",
  expired: "the time to accept ran out",
  customer_left: "the customer left",
  abandoned: "the customer left",
  disconnected: "the connection dropped",
  state: "you are no longer available",
};

export class OfferList {
  constructor(container, desktop) {
    this.container = container;
    this.desktop = desktop;
    this.cards = new Map(); // offer_id → {offer, el, bar, left, receivedAt, busy}
    setInterval(() => this.tick(), 250);
  }

  get size() {
    return this.cards.size;
  }

  replaceAll(offers) {
    const still = new Set(offers.map((o) => o.offer_id));
    for (const id of [...this.cards.keys()]) this.drop(id, { keepAlert: still.has(id) });
    for (const offer of offers) this.add(offer);
  }

  add(offer) {
    if (this.cards.has(offer.offer_id)) this.drop(offer.offer_id, { keepAlert: true });
    const receivedAt = nowUnix();
    const card = this.render(offer, receivedAt);
    this.cards.set(offer.offer_id, card);
    this.container.append(card.el);
    this.layout();
    this.tick();
  }

  revoke(offerId, reason) {
    const card = this.cards.get(offerId);
    if (!card) return;
    this.drop(offerId);
    // Withdrawn because of what this agent did (accepted, rejected) needs no word.
    if (!["accepted", "assigned", "rejected"].includes(reason)) {
      const why = REVOKE_WORDS[reason] || String(reason || "withdrawn").replace(/_/g, " ");
      this.desktop.toast(`Offer of ${customerName(card.offer)} withdrawn: ${why}.`, "warn");
    }
  }

  removeInteraction(interactionId) {
    for (const [id, card] of this.cards) if (card.offer.interaction.id === interactionId) this.drop(id);
  }

  /** The server withdraws offers of a dropped socket; the cards go with it. */
  connectionLost() {
    for (const id of [...this.cards.keys()]) this.drop(id);
  }

  drop(offerId, { keepAlert = false } = {}) {
    const card = this.cards.get(offerId);
    if (!card) return;
    this.cards.delete(offerId);
    card.el.remove();
    if (!keepAlert) this.desktop.alerts.forget(offerId);
    this.layout();
  }

  /** Several offers at once get compact cards, so that all of them fit a laptop screen (1366×768). */
  layout() {
    this.container.classList.toggle("has-offers", this.cards.size > 0);
    this.container.classList.toggle("several", this.cards.size > 1);
  }

  first() {
    let best = null;
    for (const card of this.cards.values()) {
      if (card.busy) continue;
      if (!best || card.offer.deadline < best.offer.deadline) best = card;
    }
    return best;
  }

  acceptFirst() {
    const card = this.first();
    if (card) this.accept(card);
  }

  rejectFirst() {
    const card = this.first();
    if (card) this.reject(card);
  }

  async accept(card) {
    if (card.busy) return;
    this.setBusy(card, "Accepting…");
    const interactionId = card.offer.interaction.id;
    this.desktop.work.expect(interactionId);
    try {
      const result = await this.desktop.request({ type: "accept", offer_id: card.offer.offer_id });
      this.drop(card.offer.offer_id);
      if (result && result.interaction && result.context) {
        this.desktop.work.assign(result, { focus: true });
      }
    } catch (err) {
      this.failed(card, `Not accepted: ${err.detail}`);
    }
  }

  async reject(card) {
    if (card.busy) return;
    this.setBusy(card, "Rejecting…");
    try {
      await this.desktop.request({ type: "reject", offer_id: card.offer.offer_id });
      this.drop(card.offer.offer_id);
    } catch (err) {
      this.failed(card, `Not rejected: ${err.detail}`);
    }
  }

  setBusy(card, text) {
    card.busy = true;
    card.el.setAttribute("aria-busy", "true");
    for (const b of card.el.querySelectorAll("button")) b.disabled = true;
    card.status.textContent = text;
  }

  failed(card, text) {
    card.busy = false;
    card.el.removeAttribute("aria-busy");
    card.status.textContent = text;
    card.status.classList.add("form-error");
    if (card.offer.deadline > nowUnix()) {
      for (const b of card.el.querySelectorAll("button")) b.disabled = false;
    } else {
      setTimeout(() => this.drop(card.offer.offer_id), 4000);
    }
  }

  tick() {
    const now = nowUnix();
    for (const card of this.cards.values()) {
      const total = Math.max(1, card.offer.deadline - card.receivedAt);
      const left = card.offer.deadline - now;
      card.bar.value = Math.max(0, Math.min(1, left / total));
      card.left.textContent = left > 0 ? `${formatDuration(Math.ceil(left))} left` : "Time is up";
      card.el.classList.toggle("urgent", left <= 5);
      if (left <= 0 && !card.busy) {
        for (const b of card.el.querySelectorAll("button")) b.disabled = true;
        // The server sends offer_revoked; if it never does, the card still goes.
        if (left < -10) this.drop(card.offer.offer_id);
      }
    }
  }

  render(offer, receivedAt) {
    const it = offer.interaction;
    const ctx = offer.context || {};
    const titleId = `offer-title-${cssId(offer.offer_id)}`;
    const status = h("p", { class: "offer-status", role: "status" });
    const bar = h("progress", { class: "offer-bar", max: "1", value: "1", "aria-hidden": "true" });
    const left = h("span", { class: "offer-left", "aria-live": "off" });
    const card = { offer, receivedAt, busy: false, status, bar, left, el: null };

    const earlier = (ctx.interactions || []).filter((i) => i.id !== it.id);
    const preview = offerPreview(it);
    const reason = offer.reason || {};
    const skills = reason.skills && typeof reason.skills === "object" ? Object.entries(reason.skills) : [];
    const otherReasons = Object.entries(reason).filter(([k]) => k !== "skills" && k !== "queue");
    const attrs = Object.entries(it.attributes || {}).slice(0, 6);

    card.el = h(
      "article",
      { class: ["offer", `channel-${it.channel}`], "aria-labelledby": titleId, dataset: { offerId: offer.offer_id } },
      h(
        "header",
        { class: "offer-head" },
        channelIcon(it.channel),
        h("h2", { id: titleId }, `${arrivalWords(it.channel)}: `, h("span", { class: "offer-customer", text: customerName(offer) })),
        left,
      ),
      bar,
      collisionWarning(offer.collisions),
      h(
        "dl",
        { class: "offer-facts" },
        h("dt", { text: "Queue" }),
        h("dd", { text: reason.queue || it.queue }),
        h("dt", { text: "From" }),
        h("dd", { text: [it.from_kind, it.from_value].filter(Boolean).join(" ") || "–" }),
        h("dt", { text: "Why you" }),
        h(
          "dd",
          { class: "chips" },
          skills.length
            ? skills.map(([name, level]) => h("span", { class: "chip skill", text: `${name} ≥ ${level}` }))
            : h("span", { class: "muted", text: "any agent of this queue" }),
          otherReasons.map(([k, v]) => h("span", { class: "chip", text: `${humanize(k)}: ${formatValue(v)}` })),
        ),
        offer.callback ? h("dt", { text: "Call back" }) : null,
        offer.callback
          ? h("dd", { class: "offer-callback", text: `${offer.callback.number} · attempt ${offer.callback.attempt} of ${offer.callback.attempts}` })
          : null,
        offer.why ? h("dt", { text: "Routing" }) : null,
        offer.why ? h("dd", { class: "offer-why", text: whyShort(offer.why) }) : null,
        attrs.length ? h("dt", { class: "extra", text: "Collected" }) : null,
        attrs.length
          ? h("dd", { class: "chips extra" }, attrs.map(([k, v]) => h("span", { class: "chip attr", text: `${humanize(k)}: ${formatValue(v)}` })))
          : null,
        earlier.length ? h("dt", { class: "extra", text: "History" }) : null,
        earlier.length ? h("dd", { class: "extra", text: `${earlier.length} earlier contact${earlier.length === 1 ? "" : "s"}` }) : null,
      ),
      preview ? h("blockquote", { class: "offer-preview extra", text: preview }) : null,
      h(
        "div",
        { class: "offer-actions" },
        h(
          "button",
          { type: "button", class: "primary accept", "aria-keyshortcuts": "Alt+A", onclick: () => this.accept(card) },
          "Accept",
          h("kbd", { "aria-hidden": "true", text: "Alt+A" }),
        ),
        h(
          "button",
          { type: "button", class: "danger reject", "aria-keyshortcuts": "Alt+R", onclick: () => this.reject(card) },
          "Reject",
          h("kbd", { "aria-hidden": "true", text: "Alt+R" }),
        ),
      ),
      status,
    );
    return card;
  }
}

export function customerName(offerOrWork) {
  const c = offerOrWork.context && offerOrWork.context.customer;
  const it = offerOrWork.interaction;
  return (c && (c.name || c.email || c.phone)) || (it && it.from_value) || "Unknown customer";
}

const STRATEGY_WORDS = {
  longest_idle: "longest idle",
  most_skilled: "most skilled",
  least_occupied: "least occupied",
};

/** The short form of the router's `why`: the strategy, the widening step in force, a preference, and how
 * many agents were weighed, and how it came to this queue, e.g. "most skilled · score 9 · step 1 ·
 * preferred agent · 1 of 3 agents · overflowed from sales after 120 s". */
export function whyShort(why) {
  const parts = [STRATEGY_WORDS[why.strategy] || humanize(String(why.strategy || "routed"))];
  if (why.score !== undefined && why.score !== null && why.strategy !== "longest_idle") parts.push(`score ${formatValue(why.score)}`);
  const step = why.step && why.step.index;
  if (step) parts.push(`widened: step ${step}`);
  if (why.preference_applied) parts.push("preferred agent");
  if (why.considered) parts.push(`1 of ${why.considered} agent${why.considered === 1 ? "" : "s"}`);
  if (why.overflow) parts.push(why.overflow);
  return parts.join(" · ");
}

function offerPreview(it) {
  if (it.subject) return it.subject;
  const first = (it.messages || []).find((m) => m.direction === "inbound" && m.body);
  if (!first) return "";
  return first.body.length > 240 ? `${first.body.slice(0, 240)}…` : first.body;
}

function cssId(value) {
  return String(value).replace(/[^A-Za-z0-9_-]/g, "_");
}
