// The supervisor wallboard: every queue and a page of agents, live from the supervisor socket.
//
// The page never polls: the socket sends a `snapshot` and then `queue` and `agent` frames as
// things change; after a drop it reconnects with `?after=<last event id>` to resume. A one-second
// local timer only advances the clocks shown (time in state, oldest wait) and slides the charts.
// The KPIs of today (ASA, AHT, abandonment, CSAT per queue) come from PostgreSQL through
// GET /v1/reports/kpis: read at each snapshot and once a minute.

import { fill, formatClock, formatDuration, h, nowUnix, startTicker } from "../common/dom.js";
import { channelLabel, channelNames, loadChannels } from "../common/channels.js";
import { ReconnectingSocket, socketUrl } from "../common/socket.js";
import { waitingChart } from "./chart.js";
import { renderBlending } from "./blending.js";
import { SupervisePanel } from "./supervise.js";
import { AgentPaging } from "./paging.js";

const STORE_KEY = "omniroute.wallboard.token";
const HISTORY_SECONDS = 15 * 60;
const KPI_REFRESH_MS = 60 * 1000;
const $ = (id) => document.getElementById(id);

class Wallboard {
  constructor() {
    this.token = takeToken();
    this.socket = null;
    this.lastEventId = null;
    this.queues = new Map(); // id → {data, receivedAt, history, el, parts}
    this.agents = new Map(); // id → {data, row, parts}
    this.everConnected = false;
    this.lastChartDraw = 0;
    this.kpis = new Map(); // queue id → today's KPI row
    this.kpiTimer = null;
    this.supervise = new SupervisePanel(this, $("supervise"));
    this.paging = new AgentPaging(this, $("agents-paging"), (rows) => this.replaceAgents(rows));

    $("signin-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const token = $("signin-token").value.trim();
      if (!token) {
        $("signin-error").textContent = "The token is required.";
        return;
      }
      this.token = token;
      sessionStorage.setItem(STORE_KEY, token);
      $("signin-token").value = "";
      this.connect();
    });
    $("signout").addEventListener("click", () => {
      this.disconnect();
      sessionStorage.removeItem(STORE_KEY);
      this.token = null;
      this.showSignin();
    });
    startTicker(document, (now) => this.tick(now));
  }

  start() {
    if (this.token) this.connect();
    else this.showSignin();
  }

  showSignin(error = "") {
    $("board").hidden = true;
    $("signin").hidden = false;
    $("signin-error").textContent = error;
    $("signin-token").focus();
  }

  connect() {
    this.disconnect();
    $("signin").hidden = true;
    $("board").hidden = false;
    this.socket = new ReconnectingSocket(() =>
      socketUrl("/v1/supervisor/socket", {
        token: this.token,
        // "0-0" is the id of a server that has seen no event yet: nothing to resume after.
        after: this.lastEventId && this.lastEventId !== "0-0" ? this.lastEventId : null,
        ...this.paging.params(),
      }),
    );
    this.socket.addEventListener("status", (e) => this.onStatus(e.detail));
    this.socket.addEventListener("frame", (e) => this.onFrame(e.detail));
    this.socket.start();
    this.kpiTimer = setInterval(() => this.refreshKpis(), KPI_REFRESH_MS);
  }

  disconnect() {
    if (this.socket) this.socket.stop();
    clearInterval(this.kpiTimer);
    this.kpiTimer = null;
    this.socket = null;
    this.lastEventId = null;
    this.everConnected = false;
  }

  onStatus({ status, retryIn, attempt, code, reason }) {
    $("conn").dataset.status = status;
    const text = $("conn-text");
    const banner = $("banner");
    if (status === "open") {
      text.textContent = "Live";
      banner.hidden = true;
    } else if (status === "connecting") {
      text.textContent = attempt ? `Reconnecting (attempt ${attempt + 1})…` : "Connecting…";
    } else if (status === "stopped") {
      if (code) this.showSignin(`The server refused this token (${reason || code}).`);
    } else {
      const seconds = Math.max(1, Math.round((retryIn || 0) / 1000));
      text.textContent = `Offline — retrying in ${seconds}s`;
      if (!this.everConnected && attempt === 1) this.diagnose();
      fill(
        banner,
        h("span", {
          text: this.everConnected
            ? "Connection lost: the figures below are frozen until it is back."
            : "Cannot reach the server.",
        }),
        h("button", { type: "button", class: "ghost", onclick: () => this.socket && this.socket.reconnectNow() }, "Retry now"),
      );
      banner.hidden = false;
      document.body.classList.add("is-stale");
    }
  }

  /**
   * A refused websocket handshake looks like any network failure to a page: ask the same URL
   * over plain HTTP once; 401 or 403 means the token is wrong and retrying is pointless.
   */
  async diagnose() {
    const token = this.token;
    const url = new URL("/v1/supervisor/socket", window.location.href);
    url.searchParams.set("token", token);
    let response;
    try {
      response = await fetch(url, { cache: "no-store" });
    } catch {
      return; // unreachable: keep retrying
    }
    const why = { 401: "the token is not valid", 403: "this is not a supervisor token" }[response.status];
    if (why && token === this.token && !this.everConnected) {
      this.disconnect();
      sessionStorage.removeItem(STORE_KEY);
      this.showSignin(`Cannot open the wallboard: ${why}.`);
    }
  }

  onFrame(frame) {
    if (frame.event_id) this.lastEventId = frame.event_id;
    if (this.supervise.onFrame(frame)) return undefined; // watched frames and the panel's answers
    switch (frame.type) {
      case "snapshot":
        return this.onSnapshot(frame);
      case "queue":
        return this.updateQueue(frame.queue, eventTime(frame.event_id));
      case "agent":
        return this.updateAgent(frame.agent);
      case "agents":
        return this.paging.onPage(frame);
      case "blending":
        return renderBlending($("blending"), frame);
      case "error":
        if (frame.code === "unauthorized" || frame.code === "forbidden") {
          this.disconnect();
          this.showSignin(frame.detail || "The server refused this token.");
        } else {
          fill($("banner"), h("span", { text: `Server error: ${frame.detail || frame.code}` }));
          $("banner").hidden = false;
        }
        return undefined;
      default:
        return undefined;
    }
  }

  onSnapshot(snapshot) {
    this.everConnected = true;
    document.body.classList.remove("is-stale");
    const queueIds = new Set(snapshot.queues.map((q) => q.id));
    for (const [id, q] of this.queues) {
      if (!queueIds.has(id)) {
        q.el.remove();
        this.queues.delete(id);
      }
    }
    const history = snapshot.history || {};
    for (const q of snapshot.queues) {
      const entry = this.ensureQueue(q);
      if (history[q.id]) entry.history = history[q.id].map(([t, v]) => [Number(t), Number(v)]);
      this.updateQueue(q, eventTime(snapshot.event_id));
    }
    this.paging.onSnapshot(snapshot);
    this.replaceAgents(snapshot.agents);
    $("no-queues").hidden = this.queues.size > 0;
    this.refreshKpis();
  }

  /** The rows of one page of agents (the snapshot's, or a new view's) replace the table's. */
  replaceAgents(rows) {
    const agentIds = new Set(rows.map((a) => a.id));
    for (const [id, a] of this.agents) {
      if (!agentIds.has(id)) {
        a.row.remove();
        this.agents.delete(id);
      }
    }
    // A page arrives at once: rows go in sorted, the totals are counted once.
    const agents = [...rows].sort((x, y) => (sortKey(x) < sortKey(y) ? -1 : 1));
    const tbody = $("agents");
    for (const a of agents) {
      this.updateAgent(a, { batch: true });
      tbody.append(this.agents.get(a.id).row); // keeps the page's order for rows already shown
    }
    this.renderTotals();
  }

  // ------------------------------------------------------------ today's KPIs

  /** Today (in the server's time zone) per queue, from the KPI report; the tiles keep their last figures on failure. */
  async refreshKpis() {
    const token = this.token;
    if (!token) return;
    let response;
    try {
      response = await fetch("/v1/reports/kpis?from=today&to=tomorrow&interval=1d&group_by=queue", {
        headers: { Authorization: `Bearer ${token}` },
        cache: "no-store",
      });
    } catch {
      return;
    }
    if (!response.ok || token !== this.token) return;
    const report = await response.json();
    this.kpis = new Map(report.rows.map((row) => [row.key, row]));
    for (const entry of this.queues.values()) this.renderKpis(entry);
  }

  renderKpis(entry) {
    const row = this.kpis.get(entry.data.id) || {};
    const p = entry.parts;
    const pct = (x) => (x === null || x === undefined ? "–" : `${Math.round(x * 100)}%`);
    p.asa.textContent = row.asa_seconds === null || row.asa_seconds === undefined ? "–" : formatDuration(row.asa_seconds);
    p.aht.textContent = row.aht_seconds === null || row.aht_seconds === undefined ? "–" : formatDuration(row.aht_seconds);
    p.abandonment.textContent = pct(row.abandonment_rate);
    p.csat.textContent = pct(row.csat);
  }

  // ------------------------------------------------------------ queues

  ensureQueue(q) {
    let entry = this.queues.get(q.id);
    if (entry) return entry;
    const titleId = `q-${cssId(q.id)}-title`;
    const parts = {
      name: h("h3", { id: titleId, class: "q-name" }),
      waiting: h("span", { class: "q-waiting big" }),
      oldest: h("span", { class: "q-oldest" }),
      ewt: h("span", { class: "q-ewt" }),
      available: h("span", { class: "q-available" }),
      busy: h("span", { class: "q-busy" }),
      wrapup: h("span", { class: "q-wrapup" }),
      sl: h("span", { class: "q-sl" }),
      answered: h("span", { class: "q-answered" }),
      abandoned: h("span", { class: "q-abandoned" }),
      offered: h("span", { class: "q-offered" }),
      asa: h("span", { class: "q-asa" }),
      aht: h("span", { class: "q-aht" }),
      abandonment: h("span", { class: "q-abandonment" }),
      csat: h("span", { class: "q-csat" }),
      chart: h("div", { class: "q-chart" }),
    };
    const stat = (label, el, cls = "") => h("div", { class: ["stat", cls] }, h("dt", { text: label }), h("dd", {}, el));
    const el = h(
      "article",
      { class: "queue card", "aria-labelledby": titleId, dataset: { queue: q.id } },
      h("header", { class: "q-head" }, parts.name, h("span", { class: "q-id mono", text: q.id })),
      h(
        "div",
        { class: "q-top" },
        h("div", { class: "q-waiting-box" }, parts.waiting, h("span", { class: "label", text: "waiting" })),
        h("dl", { class: "q-wait-stats" }, stat("Oldest wait", parts.oldest), stat("Est. wait", parts.ewt), stat("Service level", parts.sl, "sl")),
      ),
      h(
        "dl",
        { class: "q-stats" },
        stat("Available", parts.available, "available"),
        stat("Busy", parts.busy, "busy"),
        stat("Wrap-up", parts.wrapup, "wrapup"),
        stat("Offered now", parts.offered),
        stat("Answered today", parts.answered),
        stat("Abandoned today", parts.abandoned, "abandoned"),
      ),
      h(
        "dl",
        { class: "q-kpis", "aria-label": "Today" },
        stat("ASA today", parts.asa),
        stat("AHT today", parts.aht),
        stat("Abandonment today", parts.abandonment, "abandoned"),
        stat("CSAT today", parts.csat),
      ),
      parts.chart,
    );
    entry = { data: q, receivedAt: nowUnix(), history: [], el, parts };
    this.queues.set(q.id, entry);
    this.renderKpis(entry);
    this.placeQueue(entry);
    $("no-queues").hidden = true;
    return entry;
  }

  placeQueue(entry) {
    // Keep the cards in id order so they do not jump around on a wall screen.
    const container = $("queues");
    const after = [...this.queues.values()]
      .filter((q) => q !== entry && q.el.isConnected)
      .sort((a, b) => a.data.id.localeCompare(b.data.id))
      .find((q) => q.data.id.localeCompare(entry.data.id) > 0);
    container.insertBefore(entry.el, after ? after.el : null);
  }

  updateQueue(q, at) {
    const entry = this.ensureQueue(q);
    entry.data = q;
    entry.receivedAt = nowUnix();
    const s = q.stats || {};
    const p = entry.parts;
    p.name.textContent = q.name || q.id;
    p.waiting.textContent = String(s.waiting ?? 0);
    entry.el.classList.toggle("has-waiting", (s.waiting || 0) > 0);
    p.ewt.textContent = s.estimated_wait_seconds === null || s.estimated_wait_seconds === undefined ? "–" : formatDuration(s.estimated_wait_seconds);
    p.available.textContent = String(s.agents_available ?? 0);
    p.busy.textContent = String(s.agents_busy ?? 0);
    p.wrapup.textContent = String(s.agents_wrapup ?? 0);
    p.offered.textContent = String(s.offered ?? 0);
    fill(
      p.answered,
      String(s.answered_today ?? 0),
      s.answered_in_sl_today !== undefined ? h("small", { class: "muted", text: ` ${s.answered_in_sl_today} in SL` }) : null,
    );
    p.abandoned.textContent = String(s.abandoned_today ?? 0);
    const sl = s.service_level;
    if (sl === null || sl === undefined) {
      p.sl.textContent = "–";
      p.sl.dataset.level = "none";
    } else {
      const pct = sl > 1 ? sl : sl * 100;
      p.sl.textContent = `${Math.round(pct)}%`;
      p.sl.dataset.level = pct >= 80 ? "good" : pct >= 60 ? "fair" : "poor";
    }
    // history: one point per change
    const waiting = Number(s.waiting ?? 0);
    const hist = entry.history;
    const t = Math.max(at, hist.length ? hist[hist.length - 1][0] : 0);
    if (!hist.length || hist[hist.length - 1][1] !== waiting) hist.push([t, waiting]);
    const cutoff = nowUnix() - HISTORY_SECONDS - 60;
    while (hist.length > 1 && hist[1][0] < cutoff) hist.shift();
    this.renderOldest(entry, nowUnix());
    this.drawChart(entry, nowUnix());
    this.renderTotals();
  }

  renderOldest(entry, now) {
    const s = entry.data.stats || {};
    const waiting = s.waiting || 0;
    const oldest = waiting ? (s.oldest_wait_seconds || 0) + (now - entry.receivedAt) : 0;
    entry.parts.oldest.textContent = waiting ? formatDuration(oldest) : "–";
    const threshold = 60;
    entry.el.classList.toggle("long-wait", waiting > 0 && oldest >= threshold);
  }

  drawChart(entry, now) {
    fill(entry.parts.chart, waitingChart(entry.history, now, HISTORY_SECONDS, `Waiting in ${entry.data.name || entry.data.id}`));
  }

  // ------------------------------------------------------------ agents

  updateAgent(a, { batch = false } = {}) {
    let entry = this.agents.get(a.id);
    if (!entry) {
      const parts = {
        name: h("th", { scope: "row" }),
        state: h("td", {}),
        since: h("td", { class: "num" }),
        work: h("td", { class: "work-cell" }),
      };
      const row = h("tr", { dataset: { agent: a.id } }, parts.name, parts.state, parts.since, parts.work);
      entry = { data: a, row, parts };
      this.agents.set(a.id, entry);
      const tbody = $("agents");
      const key = sortKey(a);
      const next = batch ? null : [...tbody.children].find((r) => sortKey(this.agents.get(r.dataset.agent).data) > key);
      tbody.insertBefore(row, next || null);
    }
    entry.data = a;
    const p = entry.parts;
    fill(p.name, h("span", { class: "agent-name", text: a.name }), " ", h("span", { class: "muted mono small", text: a.id }));
    const load = a.load || {};
    const totalLoad = Object.values(load).reduce((x, y) => x + y, 0);
    const word = !a.connected ? "disconnected" : a.state === "available" && totalLoad > 0 ? "busy" : a.state;
    fill(
      p.state,
      h("span", { class: ["state-badge", `state-${word}`] }, stateWord(word)),
      // why the agent is away (a reason they gave, or "missed" when an offer timed out)
      a.connected && a.reason ? h("span", { class: ["state-reason", `reason-${a.reason === "missed" ? "missed" : "given"}`], text: humanizeReason(a.reason) }) : null,
      a.wrapup ? h("span", { class: "state-badge state-wrapup", text: `wrap-up ${a.wrapup}` }) : null,
    );
    if (a.state_since) {
      p.since.dataset.since = String(a.state_since);
      p.since.textContent = formatDuration(nowUnix() - a.state_since);
    } else {
      delete p.since.dataset.since;
      p.since.textContent = "–";
    }
    const capacity = a.capacity || {};
    const order = channelNames();
    const channels = order.filter((c) => c in capacity || c in load).concat(
      Object.keys({ ...capacity, ...load }).filter((c) => !order.includes(c)),
    );
    fill(
      p.work,
      h(
        "ul",
        { class: "load-list", "aria-label": `Work of ${a.name}` },
        channels
          .filter((c) => (capacity[c] || 0) > 0 || (load[c] || 0) > 0)
          .map((c) => {
            const n = load[c] || 0;
            const cap = capacity[c] || 0;
            return h(
              "li",
              { class: ["load", `channel-${c}`, n > 0 && "in-use", cap && n >= cap && "full"], title: `${channelLabel(c)}: ${n} of ${cap}` },
              h("span", { class: "load-label", text: channelLabel(c) }),
              h("span", { class: "load-bar", "aria-hidden": "true" }, h("span", { style: { width: `${cap ? Math.min(100, (n / cap) * 100) : 0}%` } })),
              h("span", { class: "load-num", text: `${n}/${cap}` }),
            );
          }),
      ),
    );
    entry.row.classList.toggle("offline", !a.connected || a.state === "offline");
    if (!batch) this.renderTotals();
  }

  // ------------------------------------------------------------ header

  renderTotals() {
    let waiting = 0;
    let oldest = 0;
    const now = nowUnix();
    for (const q of this.queues.values()) {
      const s = q.data.stats || {};
      waiting += s.waiting || 0;
      if (s.waiting) oldest = Math.max(oldest, (s.oldest_wait_seconds || 0) + (now - q.receivedAt));
    }
    const counts = { available: 0, busy: 0, away: 0, offline: 0 };
    for (const { data: a } of this.agents.values()) {
      const busy = Object.values(a.load || {}).some((n) => n > 0) || a.wrapup > 0;
      if (!a.connected || a.state === "offline") counts.offline += 1;
      else if (busy) counts.busy += 1;
      else if (a.state === "available") counts.available += 1;
      else counts.away += 1;
    }
    const item = (label, value, cls) => [h("dt", { text: label }), h("dd", { class: cls, text: value })];
    fill(
      $("totals"),
      item("Waiting", String(waiting), "total-waiting"),
      item("Longest wait", waiting ? formatDuration(oldest) : "–", "total-oldest"),
      item("Available", String(counts.available), "total-available"),
      item("Busy", String(counts.busy), "total-busy"),
      item("Away", String(counts.away), "total-away"),
      item("Offline", String(counts.offline), "total-offline"),
    );
  }

  tick(now) {
    $("clock").textContent = formatClock(new Date(), true);
    $("clock").setAttribute("datetime", new Date().toISOString());
    for (const entry of this.queues.values()) this.renderOldest(entry, now);
    if (now - this.lastChartDraw >= 5) {
      this.lastChartDraw = now;
      for (const entry of this.queues.values()) this.drawChart(entry, now);
      this.renderTotals();
    }
  }
}

function humanizeReason(reason) {
  return String(reason).replace(/_/g, " ");
}

function stateWord(state) {
  return (
    { available: "Available", busy: "Busy", away: "Away", offline: "Offline", disconnected: "Disconnected" }[state] ||
    state
  );
}

function sortKey(a) {
  return `${a.name || ""}\u0000${a.id}`.toLowerCase();
}

/** A Redis stream id ("1700000000000-0") carries the time of the event; otherwise use now. */
function eventTime(eventId) {
  const m = /^(\d{12,14})-\d+$/.exec(String(eventId || ""));
  if (m) {
    const t = Number(m[1]) / 1000;
    if (Math.abs(t - nowUnix()) < 24 * 3600) return t;
  }
  return nowUnix();
}

function cssId(value) {
  return String(value).replace(/[^A-Za-z0-9_-]/g, "_");
}

/** A token in the address fragment (#token=…) moves to sessionStorage and out of the address. */
function takeToken() {
  const params = new URLSearchParams(window.location.hash.slice(1));
  const fromHash = params.get("token");
  if (fromHash) {
    sessionStorage.setItem(STORE_KEY, fromHash);
    history.replaceState(null, "", window.location.pathname + window.location.search);
    return fromHash;
  }
  return sessionStorage.getItem(STORE_KEY);
}

await loadChannels();
const board = new Wallboard();
board.start();
window.omniroute = board;
