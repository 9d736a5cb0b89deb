// The work held by the agent: one tab per interaction, each with the work area its channel needs
// (chat transcript, e-mail thread, call panel), notes, transfer and completion, and the context
// panel beside it.

import {
  attachmentList,
  channelIcon,
  channelLabel,
  fill,
  formatDuration,
  formatValue,
  h,
  humanize,
  nowUnix,
  sinceEl,
  timeEl,
  toUnix,
  untilEl,
} from "../common/dom.js";
import { renderContext } from "./context.js";
import { customerName } from "./offers.js";

const TEXT_CHANNELS = new Set(["chat", "social", "sms", "email"]);
const ALL_CHANNELS = ["voice", "chat", "email", "social", "sms"];
const DISPOSITIONS = [
  "resolved",
  "follow_up",
  "callback_requested",
  "escalated",
  "information_given",
  "complaint",
  "sale",
  "no_resolution",
  "wrong_number",
];
const END_WORDS = {
  customer_left: "The customer left",
  customer_hung_up: "The customer hung up",
  hangup: "The customer hung up",
  completed: "Completed",
  transferred: "Transferred",
  timeout: "Ended after inactivity",
};

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

function statusWord(status) {
  return STATUS_WORDS[status] || status;
}

let seq = 0;

export class Workspace extends EventTarget {
  constructor({ tabs, panels, empty }, desktop) {
    super();
    this.tabs = tabs;
    this.panels = panels;
    this.empty = empty;
    this.desktop = desktop;
    this.views = new Map(); // interaction id → WorkView, in tab order
    this.activeId = null;
    this.expected = new Set();
    this.dialogs = buildDialogs(this);
    this.tabs.addEventListener("keydown", (event) => this.onTabKey(event));
    this.render();
  }

  get size() {
    return this.views.size;
  }

  /** The agent accepted this interaction: focus it when it is assigned. */
  expect(interactionId) {
    this.expected.add(interactionId);
  }

  expecting(interactionId) {
    return this.expected.has(interactionId);
  }

  assign(item, { focus = false } = {}) {
    const id = item.interaction.id;
    const mine = this.expected.delete(id);
    let view = this.views.get(id);
    if (view) view.update(item);
    else {
      view = new WorkView(item, this);
      this.views.set(id, view);
      this.tabs.append(view.tab);
      this.panels.append(view.panel);
    }
    if (focus || mine || !this.activeId) this.activate(id, { focusWork: focus || mine });
    this.render();
  }

  /** The `hello` after a (re)connect lists the work held: keep drafts, add new, drop what is gone. */
  sync(items) {
    const ids = new Set(items.map((w) => w.interaction.id));
    for (const id of [...this.views.keys()]) if (!ids.has(id)) this.remove(id);
    for (const item of items) this.assign(item);
  }

  message(interactionId, message) {
    const view = this.views.get(interactionId);
    if (!view) return;
    view.addMessage(message);
    if (message.direction === "inbound" && (interactionId !== this.activeId || document.hidden)) view.markUnread();
  }

  messageStatus(frame) {
    const id = frame.message_id || (frame.message && frame.message.id);
    const status = frame.status || (frame.message && frame.message.status);
    if (frame.interaction_id) {
      const view = this.views.get(frame.interaction_id);
      if (view) view.messageStatus(id, status, frame.detail);
    } else {
      for (const view of this.views.values()) view.messageStatus(id, status, frame.detail);
    }
  }

  ended(interactionId, reason, wrapupUntil) {
    const view = this.views.get(interactionId);
    if (!view) return;
    if (reason === "transferred" && !wrapupUntil) {
      this.remove(interactionId);
      return;
    }
    view.setEnded(reason, wrapupUntil);
    this.render();
  }

  wrapupEnded(interactionId) {
    this.remove(interactionId);
  }

  remove(interactionId) {
    const view = this.views.get(interactionId);
    if (!view) return;
    const ids = [...this.views.keys()];
    const index = ids.indexOf(interactionId);
    view.tab.remove();
    view.panel.remove();
    this.views.delete(interactionId);
    if (this.activeId === interactionId) {
      this.activeId = null;
      const rest = [...this.views.keys()];
      if (rest.length) this.activate(rest[Math.min(index, rest.length - 1)]);
    }
    this.render();
  }

  clearAll() {
    for (const id of [...this.views.keys()]) this.remove(id);
    this.expected.clear();
  }

  activate(interactionId, { focusTab = false, focusWork = false } = {}) {
    if (!this.views.has(interactionId)) return;
    this.activeId = interactionId;
    for (const [id, view] of this.views) view.setActive(id === interactionId);
    const view = this.views.get(interactionId);
    if (focusTab) view.tab.focus();
    else if (focusWork) view.focusPrimary();
    this.render();
  }

  step(delta) {
    const ids = [...this.views.keys()];
    if (!ids.length) return;
    const i = Math.max(0, ids.indexOf(this.activeId));
    this.activate(ids[(i + delta + ids.length) % ids.length], { focusTab: true });
  }

  focusNote() {
    const view = this.views.get(this.activeId);
    if (view) view.noteInput.focus();
  }

  onTabKey(event) {
    const ids = [...this.views.keys()];
    const i = ids.indexOf(this.activeId);
    let target = null;
    if (event.key === "ArrowRight") target = ids[(i + 1) % ids.length];
    else if (event.key === "ArrowLeft") target = ids[(i - 1 + ids.length) % ids.length];
    else if (event.key === "Home") target = ids[0];
    else if (event.key === "End") target = ids[ids.length - 1];
    if (target) {
      event.preventDefault();
      this.activate(target, { focusTab: true });
    }
  }

  loadByChannel() {
    const load = {};
    for (const view of this.views.values()) {
      const ch = view.interaction.channel;
      load[ch] = (load[ch] || 0) + 1;
    }
    return load;
  }

  render() {
    const any = this.views.size > 0;
    this.empty.hidden = any;
    this.tabs.hidden = !any;
    this.dispatchEvent(new Event("change"));
  }
}

// ---------------------------------------------------------------- one piece of work

class WorkView {
  constructor(item, workspace) {
    seq += 1;
    this.uid = `w${seq}`;
    this.workspace = workspace;
    this.desktop = workspace.desktop;
    this.interaction = item.interaction;
    this.context = item.context;
    this.wrapupUntil = null;
    this.endReason = null;
    this.completed = false;
    this.unread = 0;
    this.seen = new Set();
    this.statuses = new Map(); // message id → latest delivery status
    this.pending = []; // replies sent, not yet confirmed: {body, el}
    this.acceptedAt = nowUnix();
    this.build();
    this.update(item);
  }

  get channel() {
    return this.interaction.channel;
  }

  get canReply() {
    if (!TEXT_CHANNELS.has(this.channel)) return false;
    const caps = this.desktop.agent && this.desktop.agent.channels && this.desktop.agent.channels[this.channel];
    return !Array.isArray(caps) || caps.length === 0 || caps.includes("text") || caps.includes("reply");
  }

  // ------------------------------------------------------------ building

  build() {
    const u = this.uid;
    const ch = this.channel;
    this.tabName = h("span", { class: "tab-name" });
    this.tabBadge = h("span", { class: "badge", hidden: true });
    this.tabStatus = h("span", { class: "tab-status" });
    this.tab = h(
      "button",
      {
        type: "button",
        role: "tab",
        id: `tab-${u}`,
        class: ["tab", `channel-${ch}`],
        "aria-controls": `panel-${u}`,
        "aria-selected": "false",
        tabindex: "-1",
        onclick: () => this.workspace.activate(this.interaction.id),
      },
      channelIcon(ch),
      h("span", { class: "visually-hidden", text: `${channelLabel(ch)}: ` }),
      this.tabName,
      this.tabStatus,
      this.tabBadge,
    );

    this.title = h("h2", { class: "work-title", id: `title-${u}` });
    this.meta = h("p", { class: "work-meta" });
    this.statusPill = h("span", { class: "pill" });
    this.banner = h("div", { class: "work-banner", hidden: true });
    this.actionError = h("p", { class: "form-error", role: "alert" });

    this.transferButton = h(
      "button",
      { type: "button", class: "ghost", "aria-haspopup": "dialog", onclick: () => this.workspace.dialogs.openTransfer(this) },
      "Transfer…",
    );
    this.completeButton = h(
      "button",
      { type: "button", class: "primary", "aria-haspopup": "dialog", onclick: () => this.workspace.dialogs.openComplete(this) },
      "Complete…",
    );
    this.endWrapupButton = h(
      "button",
      { type: "button", class: "ghost", hidden: true, onclick: () => this.endWrapup() },
      "End wrap-up",
    );

    const head = h(
      "header",
      { class: "work-head" },
      h("div", { class: "work-id" }, channelIcon(ch), h("div", {}, this.title, this.meta)),
      h("div", { class: "work-actions" }, this.statusPill, this.transferButton, this.completeButton, this.endWrapupButton),
    );

    this.body = h("div", { class: ["work-body", `body-${ch}`] });
    if (ch === "voice") this.buildCall();
    else if (ch === "email") this.buildEmail();
    else this.buildChat();

    this.buildNotes();
    this.contextSlot = h("div", { class: "context-slot" });

    this.panel = h(
      "div",
      {
        role: "tabpanel",
        id: `panel-${u}`,
        class: ["work", `channel-${ch}`],
        "aria-labelledby": `tab-${u}`,
        hidden: true,
        dataset: { interactionId: this.interaction.id, channel: ch },
      },
      h(
        "section",
        { class: "work-main", "aria-labelledby": `title-${u}` },
        head,
        this.banner,
        this.actionError,
        this.body,
        this.notesSection,
      ),
      this.contextSlot,
    );
  }

  buildChat() {
    const u = this.uid;
    this.transcript = h("ol", {
      class: "transcript",
      role: "log",
      "aria-live": "polite",
      "aria-label": `${channelLabel(this.channel)} conversation`,
      tabindex: "0",
    });
    this.replyInput = h("textarea", {
      id: `reply-${u}`,
      class: "reply-input",
      rows: "2",
      placeholder: "Type a reply — Enter sends, Shift+Enter for a new line",
      "aria-keyshortcuts": "Enter",
    });
    this.replyInput.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.sendReply();
      }
    });
    this.replyCount = this.channel === "sms" ? h("span", { class: "muted small", "aria-live": "off" }) : null;
    if (this.replyCount) {
      this.replyInput.addEventListener("input", () => {
        const n = this.replyInput.value.length;
        this.replyCount.textContent = `${n} characters, ${Math.max(1, Math.ceil(n / 160))} SMS`;
      });
    }
    this.replyForm = h(
      "form",
      { class: "reply", onsubmit: (e) => (e.preventDefault(), this.sendReply()) },
      h("label", { for: `reply-${u}`, class: "visually-hidden", text: "Reply to the customer" }),
      this.replyInput,
      h("div", { class: "reply-bar" }, this.replyCount, h("button", { type: "submit", class: "primary" }, "Send")),
    );
    fill(this.body, this.transcript, this.canReply ? this.replyForm : null);
  }

  buildEmail() {
    const u = this.uid;
    this.subjectEl = h("h3", { class: "email-subject" });
    this.transcript = h("ol", { class: "thread", "aria-label": "E-mail thread", "aria-live": "polite", tabindex: "0" });
    this.replyInput = h("textarea", {
      id: `reply-${u}`,
      class: "reply-input email-editor",
      rows: "4",
      placeholder: "Write the reply — Ctrl+Enter sends",
      "aria-keyshortcuts": "Control+Enter",
    });
    this.replyInput.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        this.sendReply();
      }
    });
    this.replyTo = h("span", { class: "mono" });
    this.replySubject = h("span", {});
    this.replyForm = h(
      "form",
      { class: "reply email-reply", onsubmit: (e) => (e.preventDefault(), this.sendReply()) },
      h("p", { class: "email-headers" }, h("span", { class: "label", text: "To " }), this.replyTo, h("br"), h("span", { class: "label", text: "Subject " }), this.replySubject),
      h("label", { for: `reply-${u}`, class: "visually-hidden", text: "Reply to the customer by e-mail" }),
      this.replyInput,
      h("div", { class: "reply-bar" }, h("span", { class: "muted small", text: "Ctrl+Enter" }), h("button", { type: "submit", class: "primary" }, "Send reply")),
    );
    fill(this.body, this.subjectEl, this.transcript, this.canReply ? this.replyForm : null);
  }

  buildCall() {
    this.callTimer = h("span", { class: "call-timer", role: "timer", "aria-label": "Call duration" });
    this.callWho = h("p", { class: "call-who" });
    this.callFacts = h("dl", { class: "facts call-facts" });
    this.callState = h("p", { class: "call-state" });
    this.transcript = null;
    fill(
      this.body,
      h(
        "div",
        { class: "call-panel" },
        h("div", { class: "call-main" }, h("span", { class: "call-label", text: "On call" }), this.callTimer, this.callState),
        h("div", {}, this.callWho, this.callFacts),
      ),
    );
  }

  buildNotes() {
    const u = this.uid;
    this.notesList = h("ul", { class: "notes-list" });
    this.noteInput = h("textarea", {
      id: `note-${u}`,
      rows: this.channel === "voice" ? "4" : "1",
      placeholder: "A note for the customer's record — Ctrl+Enter adds it",
      "aria-keyshortcuts": "Control+Enter",
    });
    this.noteInput.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        this.addNote();
      }
    });
    this.noteError = h("p", { class: "form-error", role: "alert" });
    this.notesSection = h(
      "section",
      { class: "notes", "aria-labelledby": `notes-${u}` },
      h("h3", { id: `notes-${u}`, text: "Notes" }),
      this.notesList,
      h(
        "form",
        { class: "note-form", onsubmit: (e) => (e.preventDefault(), this.addNote()) },
        h("label", { for: `note-${u}`, class: "visually-hidden", text: "New note" }),
        this.noteInput,
        h("button", { type: "submit", class: "ghost" }, "Add note"),
      ),
      this.noteError,
    );
  }

  // ------------------------------------------------------------ state from the server

  update(item) {
    this.interaction = { ...item.interaction };
    this.context = item.context;
    const name = customerName(item);
    this.tabName.textContent = name;
    this.title.textContent = name;
    const it = this.interaction;
    const since = toUnix(it.assigned_at) || this.acceptedAt;
    fill(
      this.meta,
      `${channelLabel(it.channel)} · queue ${it.queue}`,
      it.from_value ? ` · ${it.from_value}` : "",
      " · started ",
      timeEl(it.created_at),
      " · ",
      sinceEl(since, { "aria-label": "Time with you" }),
    );
    if (this.callTimer) {
      if (!this.callTimer.dataset.frozen) {
        this.callTimer.dataset.since = String(since);
        this.callTimer.textContent = formatDuration(nowUnix() - since);
      }
      fill(this.callWho, h("strong", { text: it.from_value || name }), it.agent_address ? h("span", { class: "muted", text: ` → ${it.agent_address}` }) : null);
      const attrs = Object.entries(it.attributes || {});
      fill(this.callFacts, attrs.map(([k, v]) => [h("dt", { text: humanize(k) }), h("dd", { text: formatValue(v) })]));
    }
    if (this.subjectEl) {
      this.subjectEl.textContent = it.subject || "(no subject)";
      this.replyTo.textContent = it.from_value || "";
      this.replySubject.textContent = it.subject ? (/^re:/i.test(it.subject) ? it.subject : `Re: ${it.subject}`) : "Re:";
    }
    if (this.transcript) {
      this.transcript.replaceChildren();
      this.seen.clear();
      this.renderEarlier();
      for (const m of it.messages || []) this.addMessage(m, { scroll: false });
      for (const p of this.pending) this.transcript.append(p.el);
      this.scrollDown();
    }
    this.renderNotes();
    fill(this.contextSlot, renderContext(this.context, it, this.uid));
    if (item.wrapup_until) this.setEnded(it.end_reason || "completed", item.wrapup_until);
    else if (it.status === "wrapup") this.setEnded(it.end_reason || "completed", null);
    else if (it.status === "ended" || it.status === "abandoned" || (it.status === "assigned" && it.end_reason)) {
      // the customer left while this desktop was away: the work is still to be completed
      this.setEnded(it.end_reason || "customer_left", null);
    }
    else this.renderStatus();
  }

  addMessage(message, { scroll = true } = {}) {
    if (!this.transcript || (message.id && this.seen.has(message.id))) return;
    if (message.id) this.seen.add(message.id);
    if (!(this.interaction.messages || []).some((m) => m.id === message.id)) {
      this.interaction.messages = [...(this.interaction.messages || []), message];
    }
    const el = this.channel === "email" ? this.emailMessage(message) : this.chatMessage(message);
    // An echo of a reply sent from here replaces its "sending" placeholder.
    const pendingIndex = message.direction === "outbound" ? this.pending.findIndex((p) => p.body === message.body) : -1;
    if (pendingIndex >= 0) {
      const [p] = this.pending.splice(pendingIndex, 1);
      p.el.replaceWith(el);
    } else {
      const firstPending = this.pending.length ? this.pending[0].el : null;
      if (firstPending && firstPending.parentNode === this.transcript) this.transcript.insertBefore(el, firstPending);
      else this.transcript.append(el);
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
    const earlier = ((this.context && this.context.interactions) || [])
      .filter((i) => i.id !== it.id && (i.id === it.parent_id || (it.conversation_id && i.conversation_id === it.conversation_id)))
      .filter((i) => (i.messages || []).length > 0)
      .sort((a, b) => (toUnix(a.created_at) || 0) - (toUnix(b.created_at) || 0));
    for (const prev of earlier) {
      this.transcript.append(
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
        const el = this.channel === "email" ? this.emailMessage(m) : this.chatMessage(m);
        el.classList.add("earlier");
        this.transcript.append(el);
      }
    }
    if (earlier.length) {
      this.transcript.append(h("li", { class: "divider now", role: "separator" }, "Now with you"));
    }
  }

  chatMessage(m, status = null) {
    const mine = m.direction === "outbound";
    return h(
      "li",
      { class: ["msg", mine ? "out" : "in", m.status === "failed" && "failed"], dataset: { messageId: m.id } },
      h("span", { class: "visually-hidden", text: mine ? `${m.agent_id || "Agent"} said: ` : "Customer said: " }),
      m.body ? h("p", { class: "msg-body", text: m.body }) : null,
      attachmentList(m.attachments),
      h(
        "span",
        { class: "msg-meta" },
        mine && m.agent_id && this.desktop.agent && m.agent_id !== this.desktop.agent.agent_id ? `${m.agent_id} · ` : "",
        m.created_at ? timeEl(m.created_at) : "",
        status || (mine && m.status) ? h("span", { class: "msg-status", text: ` · ${status || statusWord(m.status)}` }) : null,
      ),
    );
  }

  emailMessage(m, status = null) {
    const mine = m.direction === "outbound";
    return h(
      "li",
      { class: ["mail", mine ? "out" : "in", m.status === "failed" && "failed"], dataset: { messageId: m.id } },
      h(
        "p",
        { class: "mail-head" },
        h("strong", { text: mine ? this.agentWord(m.agent_id) : this.interaction.from_value || "Customer" }),
        " · ",
        m.created_at ? timeEl(m.created_at) : "",
        status || (mine && m.status) ? h("span", { class: "msg-status", text: ` · ${status || statusWord(m.status)}` }) : null,
      ),
      h("p", { class: "mail-body", text: m.body }),
      attachmentList(m.attachments),
    );
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
    if (!this.transcript || !known) return;
    const el = [...this.transcript.querySelectorAll("[data-message-id]")].find((m) => m.dataset.messageId === messageId);
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

  agentWord(agentId) {
    const me = this.desktop.agent && this.desktop.agent.agent_id;
    return !agentId || agentId === me ? "You" : agentId;
  }

  renderNotes() {
    const notes = this.interaction.notes || [];
    fill(
      this.notesList,
      notes.map((n) =>
        h(
          "li",
          { class: "note" },
          h("span", { class: "note-by" }, `${n.agent_id || "Note"} · `, n.created_at ? timeEl(n.created_at) : "just now"),
          h("p", { class: "note-body", text: n.body }),
        ),
      ),
    );
  }

  setEnded(reason, wrapupUntil) {
    this.endReason = reason;
    if (wrapupUntil) this.wrapupUntil = wrapupUntil;
    if (reason === "completed") this.completed = true;
    this.renderStatus();
  }

  renderStatus() {
    const inWrapup = Boolean(this.wrapupUntil) || this.interaction.status === "wrapup";
    const ended = inWrapup || Boolean(this.endReason);
    this.panel.classList.toggle("is-ended", ended);
    if (this.replyForm) {
      for (const el of this.replyForm.elements) el.disabled = ended;
    }
    this.transferButton.hidden = ended;
    this.completeButton.hidden = this.completed;
    this.endWrapupButton.hidden = !inWrapup;
    if (this.callState) this.callState.textContent = ended ? "Call ended" : "Connected";
    if (this.callTimer && ended && !this.callTimer.dataset.frozen) {
      // Freeze the call timer at its last value.
      this.callTimer.dataset.frozen = "1";
      delete this.callTimer.dataset.since;
    }

    if (inWrapup) {
      const until = this.wrapupUntil;
      this.statusPill.className = "pill wrapup";
      fill(this.statusPill, "Wrap-up ", until ? untilEl(until) : null);
      fill(this.tabStatus, " · wrap-up ", until ? untilEl(until) : null);
      this.banner.hidden = false;
      fill(
        this.banner,
        `${END_WORDS[this.endReason] || humanize(this.endReason || "ended")}. Wrap-up`,
        until ? [" ends in ", untilEl(until)] : "",
        this.completed ? "." : ": record a disposition before it ends.",
      );
    } else if (ended) {
      this.statusPill.className = "pill ended";
      this.statusPill.textContent = "Ended";
      this.tabStatus.textContent = " · ended";
      this.banner.hidden = false;
      this.banner.textContent = `${END_WORDS[this.endReason] || humanize(this.endReason)}.`;
    } else {
      this.statusPill.className = "pill live";
      this.statusPill.textContent = this.channel === "voice" ? "On call" : "Active";
      this.tabStatus.textContent = "";
      this.banner.hidden = true;
    }
  }

  setActive(on) {
    this.tab.setAttribute("aria-selected", String(on));
    this.tab.tabIndex = on ? 0 : -1;
    this.panel.hidden = !on;
    if (on) {
      this.unread = 0;
      this.tabBadge.hidden = true;
      this.scrollDown();
    }
  }

  markUnread() {
    this.unread += 1;
    this.tabBadge.hidden = false;
    this.tabBadge.textContent = String(this.unread);
    this.tabBadge.setAttribute("aria-label", `${this.unread} unread`);
  }

  focusPrimary() {
    const target = this.channel === "voice" || !this.replyForm || !this.canReply ? this.noteInput : this.replyInput;
    target.focus();
  }

  scrollDown() {
    if (this.transcript) this.transcript.scrollTop = this.transcript.scrollHeight;
  }

  // ------------------------------------------------------------ actions

  async sendReply() {
    const body = this.replyInput.value.trim();
    if (!body) return;
    const placeholder =
      this.channel === "email"
        ? this.emailMessage({ direction: "outbound", body, created_at: new Date().toISOString() }, "sending…")
        : this.chatMessage({ direction: "outbound", body, created_at: new Date().toISOString() }, "sending…");
    placeholder.classList.add("pending");
    const entry = { body, el: placeholder };
    this.pending.push(entry);
    this.transcript.append(placeholder);
    this.scrollDown();
    this.replyInput.value = "";
    this.replyInput.dispatchEvent(new Event("input"));
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
              this.replyInput.value = body;
              this.sendReply();
            },
          },
          "Retry",
        ),
      );
    }
  }

  async addNote() {
    const body = this.noteInput.value.trim();
    if (!body) return;
    this.noteError.textContent = "";
    this.noteInput.disabled = true;
    try {
      const result = await this.desktop.request({ type: "add_note", interaction_id: this.interaction.id, body });
      const note = {
        id: result && result.note_id,
        body,
        agent_id: this.desktop.agent ? this.desktop.agent.agent_id : null,
        created_at: new Date().toISOString(),
      };
      this.interaction.notes = [...(this.interaction.notes || []), note];
      this.renderNotes();
      this.noteInput.value = "";
    } catch (err) {
      this.noteError.textContent = `Note not saved: ${err.detail}`;
    } finally {
      this.noteInput.disabled = false;
      this.noteInput.focus();
    }
  }

  async complete(disposition, summary) {
    const frame = { type: "complete", interaction_id: this.interaction.id };
    if (disposition) frame.disposition = disposition;
    if (summary) frame.summary = summary;
    const result = await this.desktop.request(frame);
    this.completed = true;
    this.interaction.disposition = disposition || null;
    this.interaction.summary = summary || null;
    const until = result && result.wrapup_until;
    this.setEnded(this.endReason || "completed", until || this.wrapupUntil);
    this.workspace.render();
  }

  async transfer(queue, channel, note) {
    const frame = { type: "transfer", interaction_id: this.interaction.id, queue };
    if (channel && channel !== this.channel) frame.channel = channel;
    if (note) frame.note = note;
    await this.desktop.request(frame);
    this.desktop.toast(`Transferred ${customerName(this)} to ${queue}${frame.channel ? ` (${channelLabel(frame.channel)})` : ""}.`);
    // The server ends this interaction for us; without a wrap-up it simply leaves the desktop.
    setTimeout(() => {
      if (!this.wrapupUntil) this.workspace.remove(this.interaction.id);
    }, 1500);
    this.setEnded("transferred", this.wrapupUntil);
  }

  async endWrapup() {
    this.endWrapupButton.disabled = true;
    this.actionError.textContent = "";
    try {
      await this.desktop.request({ type: "end_wrapup", interaction_id: this.interaction.id });
      this.workspace.remove(this.interaction.id);
    } catch (err) {
      this.actionError.textContent = `Could not end wrap-up: ${err.detail}`;
    } finally {
      this.endWrapupButton.disabled = false;
    }
  }
}

// ---------------------------------------------------------------- dialogs

function buildDialogs(workspace) {
  let target = null;

  // Complete: disposition and summary.
  const dispositionInput = h("input", { id: "complete-disposition", list: "disposition-codes", autocomplete: "off", maxlength: "100" });
  const summaryInput = h("textarea", { id: "complete-summary", rows: "5", maxlength: "20000" });
  const completeError = h("p", { class: "form-error", role: "alert" });
  const completeTitle = h("h2", { id: "complete-title", text: "Complete" });
  const completeSubmit = h("button", { type: "submit", class: "primary" }, "Complete and start wrap-up");
  const completeForm = h(
    "form",
    { class: "dialog-form" },
    completeTitle,
    h("label", { for: "complete-disposition", text: "Disposition code" }),
    dispositionInput,
    h("datalist", { id: "disposition-codes" }, DISPOSITIONS.map((d) => h("option", { value: d }))),
    h("label", { for: "complete-summary", text: "Summary (stays on the customer's record)" }),
    summaryInput,
    completeError,
    h(
      "div",
      { class: "dialog-actions" },
      h("button", { type: "button", class: "ghost", onclick: () => complete.close() }, "Cancel"),
      completeSubmit,
    ),
  );
  const complete = h("dialog", { class: "dialog", "aria-labelledby": "complete-title" }, completeForm);
  completeForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!target) return;
    completeError.textContent = "";
    completeSubmit.disabled = true;
    try {
      await target.complete(dispositionInput.value.trim(), summaryInput.value.trim());
      complete.close();
    } catch (err) {
      completeError.textContent = `Not completed: ${err.detail}`;
    } finally {
      completeSubmit.disabled = false;
    }
  });
  completeForm.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      completeForm.requestSubmit();
    }
  });

  // Transfer: queue, channel, note.
  const queueSelect = h("select", { id: "transfer-queue", required: true });
  const channelSelect = h("select", { id: "transfer-channel" });
  const noteInput = h("textarea", { id: "transfer-note", rows: "4", maxlength: "20000" });
  const transferError = h("p", { class: "form-error", role: "alert" });
  const transferTitle = h("h2", { id: "transfer-title", text: "Transfer" });
  const transferSubmit = h("button", { type: "submit", class: "primary" }, "Transfer");
  const transferForm = h(
    "form",
    { class: "dialog-form" },
    transferTitle,
    h("label", { for: "transfer-queue", text: "To queue" }),
    queueSelect,
    h("label", { for: "transfer-channel", text: "On channel" }),
    channelSelect,
    h("label", { for: "transfer-note", text: "Note for the next agent (travels with the context)" }),
    noteInput,
    transferError,
    h(
      "div",
      { class: "dialog-actions" },
      h("button", { type: "button", class: "ghost", onclick: () => transfer.close() }, "Cancel"),
      transferSubmit,
    ),
  );
  const transfer = h("dialog", { class: "dialog", "aria-labelledby": "transfer-title" }, transferForm);
  transferForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!target) return;
    if (!queueSelect.value) {
      transferError.textContent = "Choose a queue.";
      queueSelect.focus();
      return;
    }
    transferError.textContent = "";
    transferSubmit.disabled = true;
    try {
      await target.transfer(queueSelect.value, channelSelect.value, noteInput.value.trim());
      transfer.close();
    } catch (err) {
      transferError.textContent = `Not transferred: ${err.detail}`;
    } finally {
      transferSubmit.disabled = false;
    }
  });
  transferForm.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      transferForm.requestSubmit();
    }
  });

  document.body.append(complete, transfer);

  return {
    openComplete(view) {
      target = view;
      completeTitle.textContent = `Complete: ${customerName(view)} (${channelLabel(view.channel)})`;
      dispositionInput.value = view.interaction.disposition || "";
      summaryInput.value = view.interaction.summary || "";
      completeError.textContent = "";
      complete.showModal();
      dispositionInput.focus();
    },
    openTransfer(view) {
      target = view;
      const agent = workspace.desktop.agent || {};
      transferTitle.textContent = `Transfer: ${customerName(view)} (${channelLabel(view.channel)})`;
      // The current queue stays in the list: escalating to another channel in the same queue is
      // an everyday move (a call continued by SMS).
      const queues = agent.queues || [];
      fill(
        queueSelect,
        h("option", { value: "", text: queues.length ? "Choose a queue…" : "No queue to transfer to" }),
        queues.map((q) => h("option", { value: q, text: q === view.interaction.queue ? `${q} (current)` : q })),
      );
      const channels = Object.keys(agent.channels || {}).length ? Object.keys(agent.channels) : ALL_CHANNELS;
      fill(
        channelSelect,
        h("option", { value: view.channel, text: `Same channel (${channelLabel(view.channel)})` }),
        channels.filter((c) => c !== view.channel).map((c) => h("option", { value: c, text: `Escalate to ${channelLabel(c)}` })),
      );
      noteInput.value = "";
      transferError.textContent = "";
      transfer.showModal();
      queueSelect.focus();
    },
  };
}
