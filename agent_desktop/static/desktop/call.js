// The work area of a call: the call panel with its timer, the caller and what the IVR collected.
// A call has no transcript; the notes field below it takes the keyboard.

import { fill, formatDuration, formatValue, h, humanize, nowUnix } from "../common/dom.js";

export class CallArea {
  liveWord = "On call";
  // the notes are where the agent writes during a call: a large field
  noteRows = 4;

  constructor(view, body) {
    this.view = view;
    this.timer = h("span", { class: "call-timer", role: "timer", "aria-label": "Call duration" });
    this.who = h("p", { class: "call-who" });
    this.facts = h("dl", { class: "facts call-facts" });
    this.state = h("p", { class: "call-state" });
    fill(
      body,
      h(
        "div",
        { class: "call-panel" },
        h("div", { class: "call-main" }, h("span", { class: "call-label", text: "On call" }), this.timer, this.state),
        h("div", {}, this.who, this.facts),
      ),
    );
  }

  update({ since, name }) {
    const it = this.view.interaction;
    if (!this.timer.dataset.frozen) {
      this.timer.dataset.since = String(since);
      this.timer.textContent = formatDuration(nowUnix() - since);
    }
    fill(
      this.who,
      h("strong", { text: it.from_value || name }),
      it.agent_address ? h("span", { class: "muted", text: ` → ${it.agent_address}` }) : null,
    );
    const attrs = Object.entries(it.attributes || {});
    fill(this.facts, attrs.map(([k, v]) => [h("dt", { text: humanize(k) }), h("dd", { text: formatValue(v) })]));
  }

  setEnded(ended) {
    this.state.textContent = ended ? "Call ended" : "Connected";
    if (ended && !this.timer.dataset.frozen) {
      // Freeze the call timer at its last value.
      this.timer.dataset.frozen = "1";
      delete this.timer.dataset.since;
    }
  }

  addMessage() {
    // A call carries no messages.
  }

  messageStatus() {
    // nor their receipts.
  }

  focusTarget() {
    return null;
  }

  scrollDown() {}
}
