// The notes of a piece of work: saved on the interaction, they travel with the customer's record.
// Ctrl+Enter adds one; Alt+N (desktop-wide) jumps to the field.

import { fill, h, timeEl } from "../common/dom.js";

export class Notes {
  constructor(view, { rows = 1 } = {}) {
    this.view = view;
    const u = view.uid;
    this.list = h("ul", { class: "notes-list" });
    this.input = h("textarea", {
      id: `note-${u}`,
      rows: String(rows),
      placeholder: "A note for the customer's record — Ctrl+Enter adds it",
      "aria-keyshortcuts": "Control+Enter",
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        this.add();
      }
    });
    this.error = h("p", { class: "form-error", role: "alert" });
    this.el = h(
      "section",
      { class: "notes", "aria-labelledby": `notes-${u}` },
      h("h3", { id: `notes-${u}`, text: "Notes" }),
      this.list,
      h(
        "form",
        { class: "note-form", onsubmit: (e) => (e.preventDefault(), this.add()) },
        h("label", { for: `note-${u}`, class: "visually-hidden", text: "New note" }),
        this.input,
        h("button", { type: "submit", class: "ghost" }, "Add note"),
      ),
      this.error,
    );
  }

  render() {
    const notes = this.view.interaction.notes || [];
    fill(
      this.list,
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

  focus() {
    this.input.focus();
  }

  async add() {
    const body = this.input.value.trim();
    if (!body) return;
    const { desktop } = this.view;
    this.error.textContent = "";
    this.input.disabled = true;
    try {
      const result = await desktop.request({ type: "add_note", interaction_id: this.view.interaction.id, body });
      const note = {
        id: result && result.note_id,
        body,
        agent_id: desktop.agent ? desktop.agent.agent_id : null,
        created_at: new Date().toISOString(),
      };
      const interaction = this.view.interaction;
      interaction.notes = [...(interaction.notes || []), note];
      this.render();
      this.input.value = "";
    } catch (err) {
      this.error.textContent = `Note not saved: ${err.detail}`;
    } finally {
      this.input.disabled = false;
      this.input.focus();
    }
  }
}
