// The work area of an e-mail: the subject, the thread, and a reply editor with its To and Re:
// subject, where Ctrl+Enter sends (Enter is a new line in an e-mail).

import { attachmentList, fill, h, timeEl } from "../common/dom.js";
import { statusLabel, Transcript } from "./transcript.js";
import { isSupervisorAuthor } from "./supervision.js";

export class EmailArea extends Transcript {
  constructor(view, body) {
    super(view);
    this.subject = h("h3", { class: "email-subject" });
    this.list = h("ol", { class: "thread", "aria-label": "E-mail thread", "aria-live": "polite", tabindex: "0" });
    this.replyTo = h("span", { class: "mono" });
    this.replySubject = h("span", {});
    if (view.canReply) this.buildForm(view.uid);
    fill(body, this.subject, this.list, this.form);
  }

  buildForm(u) {
    this.input = h("textarea", {
      id: `reply-${u}`,
      class: "reply-input email-editor",
      rows: "4",
      placeholder: "Write the reply — Ctrl+Enter sends",
      "aria-keyshortcuts": "Control+Enter",
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        this.sendReply();
      }
    });
    this.form = h(
      "form",
      { class: "reply email-reply", onsubmit: (e) => (e.preventDefault(), this.sendReply()) },
      h(
        "p",
        { class: "email-headers" },
        h("span", { class: "label", text: "To " }),
        this.replyTo,
        h("br"),
        h("span", { class: "label", text: "Subject " }),
        this.replySubject,
      ),
      h("label", { for: `reply-${u}`, class: "visually-hidden", text: "Reply to the customer by e-mail" }),
      this.input,
      h(
        "div",
        { class: "reply-bar" },
        h("span", { class: "muted small", text: "Ctrl+Enter" }),
        h("button", { type: "submit", class: "primary" }, "Send reply"),
      ),
    );
  }

  update() {
    const it = this.interaction;
    this.subject.textContent = it.subject || "(no subject)";
    this.replyTo.textContent = it.from_value || "";
    this.replySubject.textContent = it.subject ? (/^re:/i.test(it.subject) ? it.subject : `Re: ${it.subject}`) : "Re:";
    super.update();
  }

  messageEl(m, status = null) {
    const mine = m.direction === "outbound";
    return h(
      "li",
      {
        class: ["mail", mine ? "out" : "in", mine && isSupervisorAuthor(m.agent_id) && "from-supervisor", m.status === "failed" && "failed"],
        dataset: { messageId: m.id },
      },
      h(
        "p",
        { class: "mail-head" },
        h("strong", { text: mine ? this.agentWord(m.agent_id) : this.interaction.from_value || "Customer" }),
        " · ",
        m.created_at ? timeEl(m.created_at) : "",
        statusLabel(m, status),
      ),
      h("p", { class: "mail-body", text: m.body }),
      attachmentList(m.attachments),
    );
  }

  agentWord(agentId) {
    const me = this.desktop.agent && this.desktop.agent.agent_id;
    if (isSupervisorAuthor(agentId)) return "Your supervisor";
    return !agentId || agentId === me ? "You" : agentId;
  }
}
