// A written conversation in a work area: the messages (with the earlier part of a transferred or
// escalated conversation first), replies waiting for the server, and delivery receipts. The chat
// and e-mail work areas (chat.js, email.js) draw the messages and the reply form.

import { h, timeEl, toUnix } from "../common/dom.js";
import { channelLabel } from "../common/channels.js";

// Delivery states of a reply, as the router and the channel adapter report them.
const STATUS_WORDS = {
  pending: "sending…",
  retrying: "retrying…",
  queued: "sent to the channel",
  sent: "sent",
  delivered: "delivered",
  read: "read",
  failed: "not delivered",
};

// Receipts can overtake each other (the channel may report "delivered" before the router has
// recorded the hand-over): a status only moves forward; failed always wins.
const STATUS_RANK = { pending: 0, retrying: 1, queued: 2, sent: 3, delivered: 4, read: 5, failed: 9 };

export function statusWord(status) {
  return STATUS_WORDS[status] || status;
}

/** The " · delivered" label of a message, when it has a status to show. */
export function statusLabel(m, status) {
  const mine = m.direction === "outbound";
  return status || (mine && m.status) ? h("span", { class: "msg-status", text: ` · ${status || statusWord(m.status)}` }) : null;
}

/**
 * Subclasses set `this.list` (the message list), `this.form` and `this.input` (the reply form,
 * null when the agent cannot reply on this channel) and implement messageEl(message, status).
 */
export class Transcript {
  liveWord = "Active";
  noteRows = 1;

  constructor(view) {
    this.view = view;
    this.seen = new Set();
    this.statuses = new Map(); // message id → latest delivery status
    this.pending = []; // replies sent, not yet confirmed: {body, el}
    this.form = null;
    this.input = null;
  }

  get desktop() {
    return this.view.desktop;
  }

  get interaction() {
    return this.view.interaction;
  }

  update() {
    this.list.replaceChildren();
    this.seen.clear();
    this.renderEarlier();
    for (const m of this.interaction.messages || []) this.addMessage(m, { scroll: false });
    for (const p of this.pending) this.list.append(p.el);
    this.scrollDown();
  }

  addMessage(message, { scroll = true } = {}) {
    if (message.id && this.seen.has(message.id)) return;
    if (message.id) this.seen.add(message.id);
    const it = this.interaction;
    if (!(it.messages || []).some((m) => m.id === message.id)) it.messages = [...(it.messages || []), message];
    const el = this.messageEl(message);
    // An echo of a reply sent from here replaces its "sending" placeholder.
    const pendingIndex = message.direction === "outbound" ? this.pending.findIndex((p) => p.body === message.body) : -1;
    if (pendingIndex >= 0) {
      const [p] = this.pending.splice(pendingIndex, 1);
      p.el.replaceWith(el);
    } else {
      const firstPending = this.pending.length ? this.pending[0].el : null;
      if (firstPending && firstPending.parentNode === this.list) this.list.insertBefore(el, firstPending);
      else this.list.append(el);
    }
    if (message.id) this.showStatus(message.id);
    if (scroll) this.scrollDown();
  }

  /**
   * A transferred or escalated conversation: the messages exchanged before it reached this agent
   * (earlier interactions of the same conversation) come first, set apart, so the transcript reads
   * from the start.
   */
  renderEarlier() {
    const it = this.interaction;
    const context = this.view.context;
    const earlier = ((context && context.interactions) || [])
      .filter((i) => i.id !== it.id && (i.id === it.parent_id || (it.conversation_id && i.conversation_id === it.conversation_id)))
      .filter((i) => (i.messages || []).length > 0)
      .sort((a, b) => (toUnix(a.created_at) || 0) - (toUnix(b.created_at) || 0));
    for (const prev of earlier) {
      this.list.append(
        h(
          "li",
          { class: "divider", role: "separator" },
          `Earlier — ${channelLabel(prev.channel)}, queue ${prev.queue}`,
          prev.agent_id ? `, with ${prev.agent_id}` : "",
          " · ",
          timeEl(prev.created_at),
        ),
      );
      for (const m of prev.messages) {
        const el = this.messageEl(m);
        el.classList.add("earlier");
        this.list.append(el);
      }
    }
    if (earlier.length) {
      this.list.append(h("li", { class: "divider now", role: "separator" }, "Now with you"));
    }
  }

  /** A delivery receipt; it may arrive before the message it is about is on screen. */
  messageStatus(messageId, status, detail) {
    if (!messageId || !status) return;
    const known = this.statuses.get(messageId);
    if (known && (STATUS_RANK[status] ?? 0) < (STATUS_RANK[known.status] ?? 0)) return;
    this.statuses.set(messageId, { status, detail });
    const m = (this.interaction.messages || []).find((x) => x.id === messageId);
    if (m) m.status = status;
    this.showStatus(messageId);
  }

  showStatus(messageId) {
    const known = this.statuses.get(messageId);
    if (!known) return;
    const el = [...this.list.querySelectorAll("[data-message-id]")].find((m) => m.dataset.messageId === messageId);
    if (!el) return;
    let label = el.querySelector(".msg-status");
    if (!label) {
      label = h("span", { class: "msg-status" });
      (el.querySelector(".msg-meta, .mail-head") || el).append(label);
    }
    label.textContent = ` · ${statusWord(known.status)}`;
    label.title = known.detail || "";
    el.classList.toggle("failed", known.status === "failed");
  }

  setEnded(ended) {
    if (this.form) for (const el of this.form.elements) el.disabled = ended;
  }

  /** Where the keyboard goes when this work is opened: the reply box, if there is one. */
  focusTarget() {
    return this.input;
  }

  scrollDown() {
    this.list.scrollTop = this.list.scrollHeight;
  }

  async sendReply() {
    const body = this.input.value.trim();
    if (!body) return;
    const placeholder = this.messageEl({ direction: "outbound", body, created_at: new Date().toISOString() }, "sending…");
    placeholder.classList.add("pending");
    const entry = { body, el: placeholder };
    this.pending.push(entry);
    this.list.append(placeholder);
    this.scrollDown();
    this.input.value = "";
    this.input.dispatchEvent(new Event("input"));
    try {
      const result = await this.desktop.request({ type: "send_message", interaction_id: this.interaction.id, body });
      // The server echoes the reply as a `message` frame, which replaces the placeholder; if the
      // acknowledgement comes first, the placeholder becomes the message.
      const i = this.pending.indexOf(entry);
      if (i >= 0) {
        this.pending.splice(i, 1);
        const messageId = result && result.message_id;
        if (messageId && this.seen.has(messageId)) placeholder.remove();
        else {
          if (messageId) {
            this.seen.add(messageId);
            placeholder.dataset.messageId = messageId;
          }
          placeholder.classList.remove("pending");
          const status = placeholder.querySelector(".msg-status");
          if (status) status.textContent = ` · ${statusWord("queued")}`;
          if (messageId) this.showStatus(messageId);
        }
      }
    } catch (err) {
      const i = this.pending.indexOf(entry);
      if (i >= 0) this.pending.splice(i, 1);
      placeholder.classList.remove("pending");
      placeholder.classList.add("failed");
      const status = placeholder.querySelector(".msg-status");
      if (status) status.textContent = ` · not sent: ${err.detail}`;
      placeholder.append(
        h(
          "button",
          {
            type: "button",
            class: "link",
            onclick: () => {
              placeholder.remove();
              this.input.value = body;
              this.sendReply();
            },
          },
          "Retry",
        ),
      );
    }
  }
}
