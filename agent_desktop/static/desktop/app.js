// The agent desktop: sign-in, the agent socket, state, offers and work.
//
// Everything the page shows comes from the agent socket (see agent_desktop/frames.py): the
// `hello` frame on every (re)connect carries the state, the work held and the open offers, so a
// dropped connection resumes where it was. There is no polling.

import { fill, h, nowUnix, startTicker } from "../common/dom.js";
import { arrivalWords, channelLabel, loadChannels } from "../common/channels.js";
import { ReconnectingSocket, socketUrl } from "../common/socket.js";
import { OfferAlerts } from "./alerts.js";
import { formDialog } from "./dialog.js";
import { OfferList, customerName } from "./offers.js";
import { ReviewPanel } from "./reviews.js";
import { Supervision } from "./supervision.js";
import { Workspace } from "./workspace.js";

const STORE_KEY = "omniroute.desktop.session";
const REQUEST_TIMEOUT_MS = 15000;
// A dead network does not always close a websocket: ask the server for a sign of life now and
// then, and reconnect when it does not answer.
const HEARTBEAT_INTERVAL_MS = 10000;
const HEARTBEAT_TIMEOUT_MS = 5000;
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const BASE_TITLE = document.title;

class RequestError extends Error {
  constructor(code, detail) {
    super(detail || code);
    this.code = code;
    this.detail = detail || code;
  }
}

class Desktop {
  constructor() {
    this.session = loadSession();
    this.socket = null;
    this.refs = new Map();
    this.refSeq = 0;
    this.agent = null; // the last hello, kept up to date by state frames
    this.everConnected = false;
    this.heartbeat = null;

    this.$ = (id) => document.getElementById(id);
    this.alerts = new OfferAlerts();
    this.alerts.addEventListener("change", () => this.renderAlertToggles());
    this.offers = new OfferList(this.$("offers"), this);
    this.stateDialog = this.buildStateDialog();
    this.work = new Workspace(
      { tabs: this.$("tabs"), panels: this.$("panels"), empty: this.$("empty") },
      this,
    );
    this.work.addEventListener("change", () => this.renderLoad());
    this.supervision = new Supervision(this);
    this.reviews = new ReviewPanel(this.$("reviews"), this);

    this.bindSignin();
    this.bindTopbar();
    this.bindKeys();
    this.renderAlertToggles();
    startTicker(document, () => this.flashTitle());
  }

  // ------------------------------------------------------------ session

  start() {
    if (this.session) this.connect();
    else this.showSignin();
  }

  showSignin(error = "") {
    this.$("app").hidden = true;
    this.$("signin").hidden = false;
    this.$("signin-error").textContent = error;
    const agentInput = this.$("signin-agent");
    if (this.session) {
      agentInput.value = this.session.agentId;
      this.$("signin-token").value = this.session.token;
    }
    (agentInput.value ? this.$("signin-token") : agentInput).focus();
    document.title = BASE_TITLE;
  }

  bindSignin() {
    this.$("signin-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const agentId = this.$("signin-agent").value.trim();
      const token = this.$("signin-token").value.trim();
      if (!ID_RE.test(agentId)) {
        this.$("signin-error").textContent = "The agent id has letters, digits, _ . - only.";
        this.$("signin-agent").focus();
        return;
      }
      if (!token) {
        this.$("signin-error").textContent = "The token is required.";
        this.$("signin-token").focus();
        return;
      }
      this.session = { agentId, token };
      sessionStorage.setItem(STORE_KEY, JSON.stringify(this.session));
      this.$("signin-token").value = "";
      this.connect();
    });
  }

  async signOut() {
    if (this.work.size > 0 && !window.confirm(holdingWords(this.work.size, "Sign out anyway?"))) return;
    if (this.socket && this.socket.isOpen && this.agent && this.agent.state !== "offline") {
      try {
        await this.request({ type: "set_state", state: "offline" }, 3000);
      } catch {
        // signing out anyway
      }
    }
    this.disconnect();
    sessionStorage.removeItem(STORE_KEY);
    this.session = null;
    this.$("signin-agent").value = "";
    this.showSignin();
  }

  connect() {
    this.disconnect();
    this.$("signin").hidden = true;
    this.$("app").hidden = false;
    this.$("agent-name").textContent = this.session.agentId;
    const { agentId, token } = this.session;
    this.socket = new ReconnectingSocket(() =>
      socketUrl(`/v1/agents/${encodeURIComponent(agentId)}/socket`, { token }),
    );
    this.socket.addEventListener("status", (e) => this.onStatus(e.detail));
    this.socket.addEventListener("frame", (e) => this.onFrame(e.detail));
    this.socket.start();
  }

  disconnect() {
    clearInterval(this.heartbeat);
    if (this.socket) this.socket.stop();
    this.socket = null;
    this.failPending("not_connected", "The connection closed before the server answered.");
    this.agent = null;
    this.everConnected = false;
    this.offers.replaceAll([]);
    this.work.clearAll();
  }

  // ------------------------------------------------------------ socket

  onStatus({ status, retryIn, attempt, code, reason }) {
    const conn = this.$("conn");
    const text = this.$("conn-text");
    const banner = this.$("banner");
    conn.dataset.status = status;
    document.body.classList.toggle("is-offline", status !== "open");
    if (status === "open") {
      text.textContent = "Connected";
      return; // the banner is cleared by the hello frame
    }
    if (status === "connecting") {
      text.textContent = attempt ? `Reconnecting (attempt ${attempt + 1})…` : "Connecting…";
      return;
    }
    clearInterval(this.heartbeat);
    this.failPending("not_connected", "The connection dropped before the server answered.");
    if (status === "stopped") {
      if (code === 4001) {
        // the server closes an older desktop of the same agent when a newer one connects
        this.disconnect();
        this.showSignin("You signed in from another desktop; this one stopped. Sign in to use it here.");
      } else if (code) {
        this.showSignin(`The server refused this agent id or token (${reason || code}).`);
      }
      return;
    }
    const seconds = Math.max(1, Math.round((retryIn || 0) / 1000));
    text.textContent = `Offline — retrying in ${seconds}s`;
    this.offers.connectionLost();
    if (!this.everConnected && attempt === 1) this.diagnose();
    if (this.everConnected) {
      fill(
        banner,
        h("span", {
          text: "Connection lost. Your work is kept on the server; reconnecting by itself…",
        }),
        h("button", { type: "button", class: "ghost", onclick: () => this.socket && this.socket.reconnectNow() }, "Retry now"),
      );
    } else {
      fill(
        banner,
        h("span", { text: `Cannot reach the server (attempt ${attempt}). Retrying in ${seconds}s.` }),
        h("button", { type: "button", class: "ghost", onclick: () => this.socket && this.socket.reconnectNow() }, "Retry now"),
        h("button", { type: "button", class: "ghost", onclick: () => this.signOut() }, "Sign in again"),
      );
    }
    banner.hidden = false;
  }

  /**
   * A refused websocket handshake looks like any network failure to a page. Ask the same URL
   * over plain HTTP once: 401/403/404 mean the id or token is wrong, and retrying is pointless.
   */
  async diagnose() {
    if (!this.session) return;
    const { agentId, token } = this.session;
    const url = new URL(`/v1/agents/${encodeURIComponent(agentId)}/socket`, window.location.href);
    url.searchParams.set("token", token);
    let response;
    try {
      response = await fetch(url, { cache: "no-store" });
    } catch {
      return; // the server is unreachable: keep retrying
    }
    const why = { 401: "the token is not valid", 403: "this token belongs to another agent", 404: "no agent has this id" }[
      response.status
    ];
    if (why && this.session && this.session.agentId === agentId && !this.everConnected) {
      this.disconnect();
      this.showSignin(`Cannot sign in: ${why}.`);
      this.$("signin-token").value = "";
    }
  }

  onFrame(frame) {
    switch (frame.type) {
      case "hello":
        return this.onHello(frame);
      case "offer":
        this.offers.add(frame);
        return this.announce(frame);
      case "offer_revoked":
        return this.offers.revoke(frame.offer_id, frame.reason);
      case "assigned":
        this.offers.removeInteraction(frame.interaction.id);
        this.work.assign(frame, { focus: this.work.size === 0 || this.work.expecting(frame.interaction.id) });
        return this.supervision.workAssigned(frame);
      case "context":
        return this.work.context(frame.interaction_id, frame.context);
      case "message":
        return this.work.message(frame.interaction_id, frame.message);
      case "message_status":
        return this.work.messageStatus(frame);
      case "interaction_ended":
        return this.work.ended(frame.interaction_id, frame.reason, frame.wrapup_until);
      case "wrapup_ended":
        return this.work.wrapupEnded(frame.interaction_id);
      case "state":
        return this.setState(frame.state, frame.state_since, frame.reason || "");
      case "ack":
        return this.settle(frame.ref, null, frame.result || {});
      case "error":
        return this.onError(frame);
      default:
        // whisper, collision, taken_over (supervision.js); frames added to the protocol later are ignored
        return this.supervision.onFrame(frame);
    }
  }

  startHeartbeat() {
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(async () => {
      const socket = this.socket;
      if (!socket || !socket.isOpen) return;
      try {
        await this.request({ type: "ping" }, HEARTBEAT_TIMEOUT_MS);
      } catch (err) {
        if (err.code === "timeout" && socket === this.socket) socket.restart("no answer from the server");
      }
    }, HEARTBEAT_INTERVAL_MS);
  }

  onHello(hello) {
    this.agent = { ...hello };
    this.everConnected = true;
    this.startHeartbeat();
    this.$("banner").hidden = true;
    this.$("agent-name").textContent = `${hello.name} (${hello.agent_id})`;
    const skills = Object.entries(hello.skills || {}).map(([k, v]) => `${k} ${v}`);
    this.$("agent-name").title = skills.length ? `Skills: ${skills.join(", ")}` : "";
    this.setState(hello.state, hello.state_since, hello.state_reason || "");
    this.offers.replaceAll(hello.offers || []);
    for (const offer of hello.offers || []) this.announce(offer);
    this.work.sync(hello.work || []);
    for (const item of hello.work || []) this.supervision.workAssigned(item);
    this.renderLoad();
    this.reviews.load();
  }

  onError(frame) {
    if (frame.ref && this.refs.has(frame.ref)) {
      this.settle(frame.ref, new RequestError(frame.code, frame.detail), null);
      return;
    }
    if (frame.code === "unauthorized" || frame.code === "forbidden" || frame.code === "session_replaced") {
      // A newer desktop of the same agent took over (or the token was revoked): stop here
      // rather than fight it for the session.
      this.disconnect();
      this.showSignin(
        frame.code === "session_replaced"
          ? "You signed in from another desktop; this one stopped. Sign in to use it here."
          : frame.detail || "The server refused this token.",
      );
      return;
    }
    this.toast(frame.detail || frame.code, "error");
  }

  /** Send a frame and wait for its ack (resolves with the result) or error (rejects). */
  request(frame, timeoutMs = REQUEST_TIMEOUT_MS) {
    if (!this.socket || !this.socket.isOpen) {
      return Promise.reject(new RequestError("not_connected", "Not connected: try again once reconnected."));
    }
    this.refSeq += 1;
    const ref = `r${this.refSeq}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.refs.delete(ref);
        reject(new RequestError("timeout", "The server did not answer in time."));
      }, timeoutMs);
      this.refs.set(ref, { resolve, reject, timer });
      this.socket.send({ ...frame, ref });
    });
  }

  settle(ref, error, result) {
    const pending = ref && this.refs.get(ref);
    if (!pending) return;
    this.refs.delete(ref);
    clearTimeout(pending.timer);
    if (error) pending.reject(error);
    else pending.resolve(result);
  }

  failPending(code, detail) {
    for (const ref of [...this.refs.keys()]) this.settle(ref, new RequestError(code, detail), null);
  }

  // ------------------------------------------------------------ state

  bindTopbar() {
    for (const button of this.$("state-switch").querySelectorAll("button")) {
      button.addEventListener("click", () => this.changeState(button.dataset.state));
    }
    this.$("state-switch").addEventListener("keydown", (event) => {
      // radiogroup: arrows move and select
      const buttons = [...this.$("state-switch").querySelectorAll("button")];
      const i = buttons.indexOf(document.activeElement);
      if (i < 0) return;
      let next = null;
      if (event.key === "ArrowRight" || event.key === "ArrowDown") next = buttons[(i + 1) % buttons.length];
      if (event.key === "ArrowLeft" || event.key === "ArrowUp") next = buttons[(i + buttons.length - 1) % buttons.length];
      if (next) {
        event.preventDefault();
        next.focus();
        this.changeState(next.dataset.state);
      }
    });
    this.$("signout").addEventListener("click", () => this.signOut());
    this.$("toggle-sound").addEventListener("click", () => this.alerts.setSound(!this.alerts.sound));
    this.$("toggle-notify").addEventListener("click", () => this.alerts.setNotify(!this.alerts.notify));
    this.$("help-button").addEventListener("click", () => this.$("help").showModal());
  }

  /**
   * The state switch. Going away asks why (the reasons of hello.away_reasons), and going away or
   * offline while holding work first says what that means; available goes at once.
   */
  changeState(state) {
    // away again is allowed: it changes the reason
    if (!this.agent || (this.agent.state === state && state !== "away")) return;
    const reasons = this.awayReasons();
    const held = this.work.size;
    if (state === "available" || (state === "offline" && held === 0) || (state === "away" && held === 0 && reasons.length === 0)) {
      this.sendState(state, "").catch((err) => this.toast(`Could not change state: ${err.detail}`, "error"));
      return;
    }
    this.stateDialog.show(state, reasons, held);
  }

  awayReasons() {
    // "missed" is the router's word for an offer left to time out, not a reason to choose
    return ((this.agent && this.agent.away_reasons) || []).filter((r) => r !== "missed");
  }

  async sendState(state, reason) {
    const group = this.$("state-switch");
    group.setAttribute("aria-busy", "true");
    try {
      const frame = { type: "set_state", state };
      if (reason) frame.reason = reason;
      const result = await this.request(frame);
      if (result && result.state) this.setState(result.state, result.state_since ?? nowUnix(), result.reason || "");
      else if (this.agent.state !== state) this.setState(state, nowUnix(), reason);
    } finally {
      group.removeAttribute("aria-busy");
    }
  }

  buildStateDialog() {
    let target = "away";
    const reasonLabel = h("label", { for: "state-reason", text: "Reason" });
    const reason = h("select", { id: "state-reason" });
    const warning = h("p", { id: "state-warning", class: "state-warning", role: "note" });
    const { dialog, open } = formDialog({
      id: "state",
      title: "Change state",
      submitText: "Go away",
      failure: "State not changed",
      fields: [reasonLabel, reason, warning],
      submit: () => this.sendState(target, target === "away" ? reason.value : ""),
    });
    const submitButton = dialog.querySelector("button[type=submit]");
    return {
      dialog,
      show: (state, reasons, held) => {
        target = state;
        const away = state === "away";
        reasonLabel.hidden = reason.hidden = !away || reasons.length === 0;
        fill(reason, away ? reasons.map((r) => h("option", { value: r, text: humanizeReason(r) })) : []);
        warning.hidden = held === 0;
        warning.textContent = held
          ? holdingWords(
              held,
              away
                ? "It stays with you while you are away; no new offers come until you are available again."
                : "Going offline does not hand it back: finish or transfer it first if you are leaving.",
            )
          : "";
        submitButton.textContent = away ? "Go away" : "Go offline";
        open(away ? "Go away" : "Go offline");
        (away && reasons.length ? reason : submitButton).focus();
      },
    };
  }

  setState(state, since, reason = "") {
    if (this.agent) {
      this.agent.state = state;
      this.agent.state_since = since;
      this.agent.state_reason = reason;
    }
    document.body.dataset.agentState = state;
    this.renderPresenceBanner(state, reason);
    for (const button of this.$("state-switch").querySelectorAll("button")) {
      const on = button.dataset.state === state;
      button.setAttribute("aria-checked", String(on));
      button.tabIndex = on ? 0 : -1;
    }
    const sinceEl = this.$("state-since");
    if (since) sinceEl.dataset.since = String(since);
    else delete sinceEl.dataset.since;
    sinceEl.textContent = since ? "0:00" : "–";
    const hint = this.$("empty-hint");
    fill(
      hint,
      state === "available"
        ? "You are available: offers appear here as work arrives."
        : ["Set yourself ", h("strong", { text: "Available" }), " to receive offers."],
    );
  }

  /** Away (above all after a missed offer) says so at the top, with a one-click way back. */
  renderPresenceBanner(state, reason) {
    const banner = this.$("presence-banner");
    if (state === "available" || !reason) {
      // plain away (as every desktop connects) is said by the state switch and the empty work area
      banner.hidden = true;
      banner.replaceChildren();
      delete banner.dataset.reason;
      return;
    }
    const missed = reason === "missed";
    banner.dataset.reason = reason || "";
    banner.classList.toggle("missed", missed);
    fill(
      banner,
      h("span", {
        text: missed
          ? `You missed an offer, so you are ${stateWord(state)}: no offers come until you are available again.`
          : `You are Away${reason ? ` (${humanizeReason(reason)})` : ""}: no offers come until you are available.`,
      }),
      h(
        "button",
        {
          type: "button",
          id: "back-available",
          class: "primary",
          onclick: () => this.changeState("available"),
        },
        "Back to Available",
      ),
    );
    banner.hidden = false;
  }

  // ------------------------------------------------------------ announcing offers

  announce(offer) {
    const it = offer.interaction || {};
    this.alerts.announce(offer, {
      title: `${arrivalWords(it.channel)}: ${customerName(offer)}`,
      body: `Queue ${(offer.reason && offer.reason.queue) || it.queue}. Accept on the desktop.`,
    });
  }

  renderAlertToggles() {
    const sound = this.$("toggle-sound");
    const notify = this.$("toggle-notify");
    sound.setAttribute("aria-pressed", String(this.alerts.sound));
    notify.setAttribute("aria-pressed", String(this.alerts.notify));
    const blocked = this.alerts.permission === "denied";
    notify.title = blocked
      ? "The browser blocks notifications for this page: allow them in the site settings"
      : "Show a browser notification for each offer";
    notify.classList.toggle("blocked", blocked && this.alerts.notify);
  }

  renderLoad() {
    const el = this.$("load");
    if (!this.agent) {
      el.replaceChildren();
      return;
    }
    const held = this.work.loadByChannel();
    const capacity = this.agent.capacity || {};
    const parts = [];
    for (const [channel, cap] of Object.entries(capacity)) {
      const n = held[channel] || 0;
      if (!n && !cap) continue;
      if (!n) continue;
      parts.push(
        h(
          "span",
          { class: ["load-item", n >= cap && "full"], title: `${channelLabel(channel)}: ${n} of ${cap}` },
          `${channelLabel(channel)} ${n}/${cap}`,
        ),
      );
    }
    fill(el, parts);
  }

  // ------------------------------------------------------------ keyboard, title, toasts

  bindKeys() {
    document.addEventListener("keydown", (event) => {
      if (this.$("app").hidden || event.defaultPrevented) return;
      const key = event.key.toLowerCase();
      if (event.altKey && !event.ctrlKey && !event.metaKey) {
        if (key === "a") {
          event.preventDefault();
          this.offers.acceptFirst();
        } else if (key === "r") {
          event.preventDefault();
          this.offers.rejectFirst();
        } else if (event.key === "PageDown") {
          event.preventDefault();
          this.work.step(1);
        } else if (event.key === "PageUp") {
          event.preventDefault();
          this.work.step(-1);
        } else if (key === "n") {
          event.preventDefault();
          this.work.focusNote();
        }
        return;
      }
      const typing = event.target.closest("input, textarea, select, [contenteditable]");
      if (!typing && event.key === "?" && !this.$("help").open) {
        event.preventDefault();
        this.$("help").showModal();
      }
    });
  }

  flashTitle() {
    if (this.$("app").hidden) return;
    const n = this.offers.size;
    if (n === 0) {
      document.title = this.agent ? `${stateWord(this.agent.state)} — ${BASE_TITLE}` : BASE_TITLE;
      return;
    }
    const on = Math.floor(Date.now() / 1000) % 2 === 0;
    document.title = on ? `(${n}) New offer — ${BASE_TITLE}` : `● ${n === 1 ? "Offer waiting" : `${n} offers waiting`}`;
  }

  toast(message, kind = "info") {
    const el = h("div", { class: ["toast", kind], role: kind === "error" ? "alert" : null }, message);
    this.$("toasts").append(el);
    setTimeout(() => el.remove(), kind === "error" ? 8000 : 5000);
  }
}

function humanizeReason(reason) {
  return String(reason).replace(/_/g, " ");
}

function holdingWords(n, then) {
  return `You hold ${n} piece${n === 1 ? "" : "s"} of work. ${then}`;
}

function stateWord(state) {
  return { available: "Available", away: "Away", offline: "Offline" }[state] || state;
}

function loadSession() {
  try {
    const value = JSON.parse(sessionStorage.getItem(STORE_KEY) || "null");
    if (value && typeof value.agentId === "string" && typeof value.token === "string") return value;
  } catch {
    // a damaged entry means signing in again
  }
  return null;
}

await loadChannels();
const desktop = new Desktop();
desktop.start();
// A handle for debugging from the console.
window.omniroute = desktop;
