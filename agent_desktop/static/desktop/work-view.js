// One piece of work held by the agent: its tab, and its panel with the header (customer, queue,
// time with the agent, status and actions), the work area of its channel, the notes, and the
// context panel beside it. It follows the server's state through wrap-up to its end.

import { fill, h, humanize, nowUnix, sinceEl, timeEl, toUnix, untilEl } from "../common/dom.js";
import { channelIcon, channelLabel, hasCapability, isTextChannel } from "../common/channels.js";
import { CallArea } from "./call.js";
import { ChatArea } from "./chat.js";
import { renderContext } from "./context.js";
import { EmailArea } from "./email.js";
import { Notes } from "./notes.js";
import { customerName } from "./offers.js";

const END_WORDS = {
  customer_left: "The customer left",
  customer_hung_up: "The customer hung up",
  hangup: "The customer hung up",
  completed: "Completed",
  transferred: "Transferred",
  timeout: "Ended after inactivity",
};

let seq = 0;

export class WorkView {
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
    this.acceptedAt = nowUnix();
    this.build();
    this.update(item);
  }

  get channel() {
    return this.interaction.channel;
  }

  get canReply() {
    if (!isTextChannel(this.channel)) return false;
    const caps = this.desktop.agent && this.desktop.agent.channels && this.desktop.agent.channels[this.channel];
    return !Array.isArray(caps) || caps.length === 0 || caps.includes("text") || caps.includes("reply");
  }

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
    const dialogs = this.workspace.dialogs;
    this.transferButton = h(
      "button",
      { type: "button", class: "ghost", "aria-haspopup": "dialog", onclick: () => dialogs.transfer.open(this) },
      "Transfer…",
    );
    this.completeButton = h(
      "button",
      { type: "button", class: "primary", "aria-haspopup": "dialog", onclick: () => dialogs.complete.open(this) },
      "Complete…",
    );
    this.endWrapupButton = h("button", { type: "button", class: "ghost", hidden: true, onclick: () => this.endWrapup() }, "End wrap-up");
    const head = h(
      "header",
      { class: "work-head" },
      h("div", { class: "work-id" }, channelIcon(ch), h("div", {}, this.title, this.meta)),
      h("div", { class: "work-actions" }, this.statusPill, this.transferButton, this.completeButton, this.endWrapupButton),
    );

    const body = h("div", { class: ["work-body", `body-${ch}`] });
    // A channel without text is a call; one with subjects is e-mail; any other text is a chat.
    const Area = !isTextChannel(ch) ? CallArea : hasCapability(ch, "subject") ? EmailArea : ChatArea;
    this.area = new Area(this, body);
    this.notes = new Notes(this, { rows: this.area.noteRows });
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
      h("section", { class: "work-main", "aria-labelledby": `title-${u}` }, head, this.banner, this.actionError, body, this.notes.el),
      this.contextSlot,
    );
  }

  // ------------------------------------------------------------ state from the server

  update(item) {
    this.interaction = { ...item.interaction };
    this.context = item.context;
    // a callback (docs/callbacks.md): the agent calls the customer and reports how the call went
    this.callback = item.callback || this.callback || null;
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
    this.area.update({ since, name });
    this.notes.render();
    this.renderContext();
    if (item.wrapup_until) this.setEnded(it.end_reason || "completed", item.wrapup_until);
    else if (it.status === "wrapup") this.setEnded(it.end_reason || "completed", null);
    else if (it.status === "ended" || it.status === "abandoned" || (it.status === "assigned" && it.end_reason)) {
      // the customer left while this desktop was away: the work is still to be completed
      this.setEnded(it.end_reason || "customer_left", null);
    } else this.renderStatus();
  }

  renderContext() {
    const actions = { link: (customerId) => this.linkCustomer(customerId) };
    fill(this.contextSlot, renderContext(this.context, this.interaction, this.uid, actions));
  }

  /** A `context` frame: the work's customer changed (a merge); the rest of the work is as it was. */
  setContext(context) {
    this.context = context;
    const name = customerName({ interaction: this.interaction, context });
    this.tabName.textContent = name;
    this.title.textContent = name;
    this.area.update({ since: toUnix(this.interaction.assigned_at) || this.acceptedAt, name });
    this.renderContext();
  }

  /**
   * The agent verified in the conversation that the person is this known customer: the contact is
   * linked to them, and the server sends the context with their history (a `context` frame).
   */
  async linkCustomer(customerId) {
    this.actionError.textContent = "";
    try {
      await this.desktop.request({ type: "link_customer", interaction_id: this.interaction.id, customer_id: customerId });
      this.desktop.toast("Linked to the verified customer: their history is shown.");
    } catch (err) {
      this.actionError.textContent = `Could not link the customer: ${err.detail}`;
      throw err;
    }
  }

  addMessage(message, options) {
    this.area.addMessage(message, options);
  }

  messageStatus(messageId, status, detail) {
    this.area.messageStatus(messageId, status, detail);
  }

  setEnded(reason, wrapupUntil) {
    if (reason !== this.endReason && ["customer_left", "customer_hung_up", "hangup", "timeout"].includes(reason) && this.interaction.status === "assigned") {
      this.patchJourney({ status: "ended", end_reason: reason });
    }
    this.endReason = reason;
    if (wrapupUntil) this.wrapupUntil = wrapupUntil;
    if (reason === "completed") this.completed = true;
    this.renderStatus();
  }

  renderStatus() {
    const inWrapup = Boolean(this.wrapupUntil) || this.interaction.status === "wrapup";
    const ended = inWrapup || Boolean(this.endReason);
    this.panel.classList.toggle("is-ended", ended);
    this.area.setEnded(ended);
    this.transferButton.hidden = ended;
    this.completeButton.hidden = this.completed;
    this.endWrapupButton.hidden = !inWrapup;

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
      this.statusPill.textContent = this.area.liveWord;
      this.tabStatus.textContent = "";
      this.banner.hidden = true;
    }
  }

  // ------------------------------------------------------------ the tab

  setActive(on) {
    this.tab.setAttribute("aria-selected", String(on));
    this.tab.tabIndex = on ? 0 : -1;
    this.panel.hidden = !on;
    if (on) {
      this.unread = 0;
      this.tabBadge.hidden = true;
      this.area.scrollDown();
    }
  }

  markUnread() {
    this.unread += 1;
    this.tabBadge.hidden = false;
    this.tabBadge.textContent = String(this.unread);
    this.tabBadge.setAttribute("aria-label", `${this.unread} unread`);
  }

  /** The reply box when there is one, otherwise the notes (a call's notes have focus at once). */
  focusPrimary() {
    (this.area.focusTarget() || this.notes.input).focus();
  }

  // ------------------------------------------------------------ actions

  async complete(disposition, summary) {
    const frame = { type: "complete", interaction_id: this.interaction.id };
    if (disposition) frame.disposition = disposition;
    if (summary) frame.summary = summary;
    const result = await this.desktop.request(frame);
    this.completed = true;
    this.interaction.disposition = disposition || null;
    this.interaction.summary = summary || null;
    const until = result && result.wrapup_until;
    this.patchJourney({ status: until ? "wrapup" : "completed", disposition: disposition || null, summary: summary || null });
    this.setEnded(this.endReason || "completed", until || this.wrapupUntil);
    this.workspace.render();
  }

  /** The work's own entry in the context panel follows what happened to it (completed, ended). */
  patchJourney(fields) {
    Object.assign(this.interaction, fields);
    for (const it of (this.context && this.context.interactions) || []) {
      if (it.id === this.interaction.id) Object.assign(it, fields);
    }
    fill(this.contextSlot, renderContext(this.context, this.interaction, this.uid));
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
