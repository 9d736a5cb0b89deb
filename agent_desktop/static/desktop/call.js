// The work area of a call: the call panel with its timer, the caller and what the IVR collected.
// A call has no transcript; the notes field below it takes the keyboard.

import { fill, formatDuration, formatValue, h, humanize, nowUnix } from "../common/dom.js";

const OUTCOMES = [
  ["connected", "Connected"],
  ["no_answer", "No answer"],
  ["busy", "Busy"],
  ["failed", "Failed"],
];
const OUTCOME_WORDS = {
  connected: "Connected: the call goes on.",
  retry: "Not reached: the callback waits again at its place.",
  ended: "Not reached: that was the last attempt.",
};

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
    this.callback = h("div", { class: "callback", hidden: true });
    fill(
      body,
      h(
        "div",
        { class: "call-panel" },
        h("div", { class: "call-main" }, h("span", { class: "call-label", text: "On call" }), this.timer, this.state),
        h("div", {}, this.who, this.facts),
      ),
      this.callback,
    );
  }

  /** A callback: the number being called and the outcome buttons that send `callback_result`. */
  renderCallback() {
    const cb = this.view.callback;
    this.callback.hidden = !cb;
    if (!cb) return;
    const status = h("p", { class: "callback-status", role: "status" });
    const report = async (outcome) => {
      for (const b of this.callback.querySelectorAll("button")) b.disabled = true;
      status.textContent = "Saving…";
      try {
        const result = await this.view.desktop.request({ type: "callback_result", interaction_id: this.view.interaction.id, outcome });
        status.textContent = OUTCOME_WORDS[result.status] || "Saved.";
      } catch (err) {
        status.textContent = `Not saved: ${err.detail}`;
        for (const b of this.callback.querySelectorAll("button")) b.disabled = false;
      }
    };
    fill(
      this.callback,
      h("p", { class: "callback-what" }, h("strong", { text: "Call back " }), cb.number, ` · attempt ${cb.attempt} of ${cb.attempts}`),
      h(
        "div",
        { class: "callback-outcomes", role: "group", "aria-label": "How did the call go?" },
        OUTCOMES.map(([outcome, label]) => h("button", { type: "button", dataset: { outcome }, onclick: () => report(outcome) }, label)),
      ),
      status,
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
    if (this.callback.dataset.shown !== it.id) {
      this.callback.dataset.shown = it.id;
      this.renderCallback();
    }
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
