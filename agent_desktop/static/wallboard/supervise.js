// The wallboard's supervision panel: the live interactions (GET /v1/interactions?status=assigned),
// one of them opened and followed live over the wallboard's own supervisor socket (`watch`: each
// message of both sides and each note arrives as a `watched` frame), a whisper box (coaching for the
// agent only), barge (write to the customer as the supervisor) and take over (move the work to the
// supervisor's own agent desktop); and the week's random sample of completed work for review
// (GET /v1/quality/sample). Every action is audited by the server.
//
// The section is folded by default: a wall screen that nobody works at makes no request after
// loading. Once unfolded, the list is read, and read again when the board's agent figures change (an
// `agent` frame: work was taken or ended), never on a timer. After a reconnect the opened interaction
// is watched again.

import { fill, formatDuration, h, nowUnix, timeEl, toUnix } from "../common/dom.js";
import { channelLabel } from "../common/channels.js";

const REQUEST_TIMEOUT_MS = 10000;
const REFRESH_DEBOUNCE_MS = 300;

export class SupervisePanel {
  /** @param board the Wallboard: its `token` and `socket` (a ReconnectingSocket) */
  constructor(board, section) {
    this.board = board;
    this.section = section;
    this.pending = new Map(); // ref → {resolve, reject, timer}
    this.refSeq = 0;
    this.openId = null;
    this.open = null; // {interaction, seen: Set}
    this.refreshTimer = null;
    this.build();
  }

  build() {
    this.liveList = h("ul", { class: "live-list", "aria-label": "Live interactions" });
    this.liveEmpty = h("p", { class: "muted", text: "Nobody is handling anything right now." });
    this.watchTitle = h("h3", { id: "watch-title", text: "Open a live interaction to follow it" });
    this.transcript = h("ol", { class: "watch-transcript", role: "log", "aria-live": "polite", "aria-label": "Live conversation" });
    this.input = h("textarea", { id: "watch-text", rows: "2", placeholder: "Coaching for the agent, or a message to the customer" });
    this.agentInput = h("input", { id: "take-over-agent", spellcheck: "false", autocomplete: "off", placeholder: "agent id" });
    this.status = h("p", { class: "watch-status", role: "status" });
    this.actions = h(
      "form",
      { class: "watch-actions", onsubmit: (e) => (e.preventDefault(), this.whisper()) },
      h("label", { for: "watch-text", text: "Message" }),
      this.input,
      h(
        "div",
        { class: "watch-buttons" },
        h("button", { type: "submit", class: "primary" }, "Whisper to the agent"),
        h("button", { type: "button", class: "ghost", onclick: () => this.barge() }, "Barge in (to the customer)"),
      ),
      h(
        "div",
        { class: "watch-buttons" },
        h("label", { for: "take-over-agent", text: "Your agent id" }),
        this.agentInput,
        h("button", { type: "button", class: "ghost", onclick: () => this.takeOver() }, "Take over"),
        h("button", { type: "button", class: "ghost", onclick: () => this.close() }, "Stop watching"),
      ),
    );
    this.watchPane = h(
      "div",
      { class: "watch-pane", "aria-labelledby": "watch-title" },
      this.watchTitle,
      this.transcript,
      this.actions,
      this.status,
    );
    this.actions.hidden = true;
    this.sampleList = h("ul", { class: "sample-list", "aria-label": "Sample for review" });
    this.sampleStatus = h("p", { class: "muted", role: "status" });
    this.liveDetails = h(
      "details",
      { class: "live-work", ontoggle: () => this.liveDetails.open && this.refresh() },
      h("summary", {}, h("h2", { id: "supervise-title", text: "Live work: watch, whisper, barge, take over" })),
      h(
        "div",
        { class: "supervise-grid" },
        h(
          "div",
          { class: "live-pane" },
          h("button", { type: "button", class: "ghost", onclick: () => this.refresh() }, "Refresh the list"),
          this.liveList,
          this.liveEmpty,
        ),
        this.watchPane,
      ),
    );
    fill(
      this.section,
      this.liveDetails,
      h(
        "details",
        { class: "sample", ontoggle: (e) => e.target.open && this.loadSample() },
        h("summary", { text: "Review sample of this week" }),
        this.sampleStatus,
        this.sampleList,
      ),
    );
  }

  // ------------------------------------------------------------ frames from the board's socket

  /** True for the frames this panel consumes (its answers and the watched events). */
  onFrame(frame) {
    if ((frame.type === "ack" || frame.type === "error") && frame.ref && this.pending.has(frame.ref)) {
      this.settle(frame);
      return true;
    }
    if (frame.type === "watched") {
      if (frame.interaction_id === this.openId) this.onWatched(frame);
      return true;
    }
    if (frame.type === "snapshot") {
      if (this.liveDetails.open) this.refreshSoon();
      // a new connection knows nothing of the last one's watch
      if (this.openId) this.send({ type: "watch", interaction_id: this.openId }).catch(() => {});
    } else if (frame.type === "agent" && this.liveDetails.open) {
      this.refreshSoon();
    }
    return false;
  }

  onWatched(frame) {
    const data = frame.data || {};
    if (frame.kind === "message" && data.message) this.addMessage(data.message);
    else if (frame.kind === "note" && data.note) this.addLine("note", `Note by ${data.by}: ${data.note.body}`, data.note.id);
    else if (["work_ended", "customer_left", "transferred", "wrapup_started"].includes(frame.kind)) {
      this.addLine("event", humanEvent(frame.kind), frame.event_id);
    }
  }

  // ------------------------------------------------------------ the list of live work

  refreshSoon() {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => this.refresh(), REFRESH_DEBOUNCE_MS);
  }

  async refresh() {
    let rows;
    try {
      rows = await this.api("/v1/interactions?status=assigned");
    } catch (err) {
      this.liveEmpty.hidden = false;
      this.liveEmpty.textContent = `Cannot list live work: ${err.message}`;
      return;
    }
    this.liveEmpty.hidden = rows.length > 0;
    this.liveEmpty.textContent = "Nobody is handling anything right now.";
    fill(
      this.liveList,
      rows.map((r) =>
        h(
          "li",
          { class: ["live-row", `channel-${r.channel}`, r.id === this.openId && "is-open"], dataset: { interactionId: r.id } },
          h("span", { class: "live-channel", text: channelLabel(r.channel) }),
          h("span", { class: "live-customer", text: r.customer_name || r.from_value || "Customer" }),
          h("span", { class: "muted", text: ` with ${r.agent_name || r.agent_id}` }),
          h("span", { class: "muted live-time", text: r.seconds_in_work != null ? ` · ${formatDuration(r.seconds_in_work)}` : "" }),
          h("button", { type: "button", class: "ghost", onclick: () => this.watch(r) }, "Open"),
        ),
      ),
    );
  }

  // ------------------------------------------------------------ one interaction, live

  async watch(row) {
    if (this.openId && this.openId !== row.id) this.send({ type: "unwatch", interaction_id: this.openId }).catch(() => {});
    this.openId = row.id;
    this.open = { row, seen: new Set() };
    fill(this.transcript);
    this.watchTitle.textContent = `${channelLabel(row.channel)}: ${row.customer_name || row.from_value || "Customer"} with ${row.agent_name || row.agent_id}`;
    this.actions.hidden = false;
    this.status.textContent = "";
    for (const li of this.liveList.children) li.classList.toggle("is-open", li.dataset.interactionId === row.id);
    try {
      // watch first, then read what was said so far: a message in between shows once (by its id)
      await this.send({ type: "watch", interaction_id: row.id });
      const it = await this.api(`/v1/interactions/${encodeURIComponent(row.id)}`);
      if (this.openId !== row.id) return;
      for (const m of it.messages || []) this.addMessage(m);
      this.status.textContent = "Watching live; neither the agent nor the customer is told.";
    } catch (err) {
      this.status.textContent = `Cannot watch: ${err.message}`;
    }
  }

  async close() {
    const id = this.openId;
    this.openId = null;
    this.open = null;
    this.actions.hidden = true;
    this.watchTitle.textContent = "Open a live interaction to follow it";
    fill(this.transcript);
    this.status.textContent = "";
    if (id) await this.send({ type: "unwatch", interaction_id: id }).catch(() => {});
  }

  addMessage(m) {
    if (!this.open || this.open.seen.has(m.id)) return;
    const items = [...this.transcript.children];
    const at = toUnix(m.created_at) || nowUnix();
    this.open.seen.add(m.id);
    const supervisor = typeof m.agent_id === "string" && m.agent_id.startsWith("supervisor:");
    const who = m.direction === "inbound" ? "Customer" : supervisor ? "Supervisor" : m.agent_id || "Agent";
    const el = h(
      "li",
      { class: ["watch-msg", m.direction === "inbound" ? "in" : "out", supervisor && "from-supervisor"], dataset: { messageId: m.id, at: String(at) } },
      h("span", { class: "watch-who", text: `${who}: ` }),
      h("span", { class: "watch-body", text: m.body }),
      " ",
      timeEl(m.created_at),
    );
    // in time order (the history read may arrive after a live line)
    const next = items.find((li) => Number(li.dataset.at || 0) > at);
    this.transcript.insertBefore(el, next || null);
  }

  addLine(kind, text, key) {
    if (!this.open || (key && this.open.seen.has(key))) return;
    if (key) this.open.seen.add(key);
    this.transcript.append(h("li", { class: ["watch-line", kind], dataset: { at: String(nowUnix()) }, text }));
  }

  async whisper() {
    const body = this.input.value.trim();
    if (!this.openId || !body) return;
    await this.act({ type: "whisper", interaction_id: this.openId, body }, () => {
      this.addLine("whisper", `You whispered: ${body}`);
      this.input.value = "";
      return "Whispered to the agent only.";
    });
  }

  async barge() {
    const body = this.input.value.trim();
    if (!this.openId || !body) return;
    await this.act({ type: "barge", interaction_id: this.openId, body }, () => {
      this.input.value = "";
      return "Sent to the customer as the supervisor.";
    });
  }

  async takeOver() {
    const agentId = this.agentInput.value.trim();
    if (!this.openId) return;
    if (!agentId) {
      this.status.textContent = "Give the agent id you sign in with on the agent desktop.";
      this.agentInput.focus();
      return;
    }
    await this.act({ type: "take_over", interaction_id: this.openId, agent_id: agentId }, () => {
      return `Taken over: it is offered to ${agentId} first, with its context and its place.`;
    });
  }

  async act(frame, done) {
    try {
      await this.send(frame);
      this.status.textContent = done();
    } catch (err) {
      this.status.textContent = `Not done: ${err.message}`;
    }
  }

  // ------------------------------------------------------------ the weekly sample

  async loadSample() {
    this.sampleStatus.textContent = "Drawing…";
    let sample;
    try {
      sample = await this.api("/v1/quality/sample");
    } catch (err) {
      this.sampleStatus.textContent = `Cannot draw a sample: ${err.message}`;
      return;
    }
    this.sampleStatus.textContent = sample.interactions.length
      ? `Week ${sample.week}: up to ${sample.per_agent} completed interactions per agent, drawn at random. Review them with POST /v1/interactions/{id}/reviews.`
      : `Week ${sample.week}: no completed interaction yet.`;
    fill(
      this.sampleList,
      sample.interactions.map((s) =>
        h(
          "li",
          { class: "sample-row", dataset: { interactionId: s.interaction_id } },
          h("strong", { text: s.agent_id }),
          ` · ${channelLabel(s.channel)} · queue ${s.queue} · ended `,
          timeEl(s.ended_at),
          " · ",
          h("span", { class: "mono", text: s.interaction_id }),
          s.reviews ? h("span", { class: "muted", text: ` · ${s.reviews} review(s)` }) : h("span", { class: "sample-todo", text: " · to review" }),
        ),
      ),
    );
  }

  // ------------------------------------------------------------ plumbing

  send(frame) {
    const socket = this.board.socket;
    if (!socket || !socket.isOpen) return Promise.reject(new Error("not connected"));
    this.refSeq += 1;
    const ref = `sv${this.refSeq}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(new Error("the server did not answer in time"));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(ref, { resolve, reject, timer });
      socket.send({ ...frame, ref });
    });
  }

  settle(frame) {
    const p = this.pending.get(frame.ref);
    this.pending.delete(frame.ref);
    clearTimeout(p.timer);
    if (frame.type === "ack") p.resolve(frame.result || {});
    else p.reject(new Error(frame.detail || frame.code));
  }

  async api(path) {
    const response = await fetch(path, { headers: { Authorization: `Bearer ${this.board.token}` }, cache: "no-store" });
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new Error((body && (body.detail || body.title)) || `HTTP ${response.status}`);
    return body;
  }
}

function humanEvent(kind) {
  return (
    {
      work_ended: "The work ended.",
      customer_left: "The customer left.",
      transferred: "Transferred.",
      wrapup_started: "The agent completed it (wrap-up).",
    }[kind] || kind
  );
}
