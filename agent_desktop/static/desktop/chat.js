// The work area of a chat, social message or SMS: the transcript (an ARIA live log) and a reply
// box where Enter sends and Shift+Enter starts a new line; SMS counts characters and segments.

import { attachmentList, fill, h, timeEl } from "../common/dom.js";
import { channelLabel } from "../common/channels.js";
import { isSupervisorAuthor } from "./supervision.js";
import { statusLabel, Transcript } from "./transcript.js";

const SMS_SEGMENT = 160;

export class ChatArea extends Transcript {
  constructor(view, body) {
    super(view);
    const u = view.uid;
    this.list = h("ol", {
      class: "transcript",
      role: "log",
      "aria-live": "polite",
      "aria-label": `${channelLabel(view.channel)} conversation`,
      tabindex: "0",
    });
    if (view.canReply) this.buildForm(u);
    fill(body, this.list, this.form);
  }

  buildForm(u) {
    this.input = h("textarea", {
      id: `reply-${u}`,
      class: "reply-input",
      rows: "2",
      placeholder: "Type a reply — Enter sends, Shift+Enter for a new line",
      "aria-keyshortcuts": "Enter",
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.sendReply();
      }
    });
    const count = this.view.channel === "sms" ? h("span", { class: "muted small", "aria-live": "off" }) : null;
    if (count) {
      this.input.addEventListener("input", () => {
        const n = this.input.value.length;
        count.textContent = `${n} characters, ${Math.max(1, Math.ceil(n / SMS_SEGMENT))} SMS`;
      });
    }
    this.form = h(
      "form",
      { class: "reply", onsubmit: (e) => (e.preventDefault(), this.sendReply()) },
      h("label", { for: `reply-${u}`, class: "visually-hidden", text: "Reply to the customer" }),
      this.input,
      h("div", { class: "reply-bar" }, count, h("button", { type: "submit", class: "primary" }, "Send")),
    );
  }

  messageEl(m, status = null) {
    const mine = m.direction === "outbound";
    const me = this.desktop.agent;
    // a supervisor's message to the customer (a barge) is marked as theirs
    const supervisor = mine && isSupervisorAuthor(m.agent_id);
    return h(
      "li",
      {
        class: ["msg", mine ? "out" : "in", supervisor && "from-supervisor", m.status === "failed" && "failed"],
        dataset: { messageId: m.id },
      },
      h("span", { class: "visually-hidden", text: supervisor ? "Your supervisor said: " : mine ? `${m.agent_id || "Agent"} said: ` : "Customer said: " }),
      supervisor ? h("span", { class: "msg-author supervisor-badge", "aria-hidden": "true", text: "Supervisor" }) : null,
      m.body ? h("p", { class: "msg-body", text: m.body }) : null,
      attachmentList(m.attachments),
      h(
        "span",
        { class: "msg-meta" },
        mine && m.agent_id && me && m.agent_id !== me.agent_id && !supervisor ? `${m.agent_id} · ` : "",
        m.created_at ? timeEl(m.created_at) : "",
        statusLabel(m, status),
      ),
    );
  }
}
