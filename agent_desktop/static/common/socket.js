// A websocket that reconnects by itself with exponential backoff and jitter.
//
// Events (EventTarget):
//   "status"  detail {status: "connecting"|"open"|"closed"|"stopped", attempt, retryIn, code, reason}
//   "frame"   detail: the parsed JSON frame
//
// The backoff resets only once the server has sent a first frame, so a server that accepts
// the upgrade and closes at once is not hammered. Close codes that mean "your credentials are
// wrong" stop the reconnect loop; the page then asks to sign in again.

export const AUTH_CLOSE_CODES = new Set([1008, 4001, 4003, 4401, 4403]);

export class ReconnectingSocket extends EventTarget {
  /**
   * @param {() => string} urlFn  builds the URL of each attempt (so a resume cursor can change)
   * @param {{minDelay?: number, maxDelay?: number}} options  milliseconds
   */
  constructor(urlFn, { minDelay = 500, maxDelay = 15000 } = {}) {
    super();
    this.urlFn = urlFn;
    this.minDelay = minDelay;
    this.maxDelay = maxDelay;
    this.ws = null;
    this.attempt = 0;
    this.status = "closed";
    this.stopped = true;
    this.timer = null;
    this.gotFrame = false;
    this.onOnline = () => {
      if (!this.stopped && this.status === "closed") this.reconnectNow();
    };
  }

  start() {
    this.stopped = false;
    window.addEventListener("online", this.onOnline);
    this.open();
  }

  /** Close for good (sign-out, page leaving). */
  stop(code = 1000, reason = "closed by user") {
    this.stopped = true;
    window.removeEventListener("online", this.onOnline);
    clearTimeout(this.timer);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(code, reason);
      } catch {
        // already closing
      }
    }
    this.setStatus("stopped", {});
  }

  reconnectNow() {
    clearTimeout(this.timer);
    this.attempt = 0;
    this.open();
  }

  /**
   * Give up on the current connection (it stopped answering: a dead network does not always
   * close the socket) and reconnect with the usual backoff.
   */
  restart(reason = "no answer") {
    if (this.stopped || !this.ws) return;
    const ws = this.ws;
    this.ws = null;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      ws.close(4000, reason);
    } catch {
      // already closing
    }
    this.scheduleRetry(4000, reason);
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /** Send a frame; false when the socket is not open (the caller shows it as not sent). */
  send(frame) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  open() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.gotFrame = false;
    this.setStatus("connecting", { attempt: this.attempt });
    let ws;
    try {
      ws = new WebSocket(this.urlFn());
    } catch (err) {
      this.scheduleRetry(0, String(err));
      return;
    }
    this.ws = ws;
    ws.onopen = () => this.setStatus("open", {});
    ws.onmessage = (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return; // not ours; the server only sends JSON
      }
      if (!this.gotFrame) {
        this.gotFrame = true;
        this.attempt = 0;
      }
      this.dispatchEvent(new CustomEvent("frame", { detail: frame }));
    };
    ws.onerror = () => {
      // The close event that follows carries what we need.
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      if (AUTH_CLOSE_CODES.has(event.code)) {
        this.stopped = true;
        this.setStatus("stopped", { code: event.code, reason: event.reason || "not allowed" });
        return;
      }
      this.scheduleRetry(event.code, event.reason);
    };
  }

  scheduleRetry(code, reason) {
    const base = Math.min(this.maxDelay, this.minDelay * 2 ** this.attempt);
    const delay = Math.round(base / 2 + (Math.random() * base) / 2);
    this.attempt += 1;
    this.setStatus("closed", { code, reason, retryIn: delay, retryAt: Date.now() + delay, attempt: this.attempt });
    this.timer = setTimeout(() => this.open(), delay);
  }

  setStatus(status, detail) {
    this.status = status;
    this.dispatchEvent(new CustomEvent("status", { detail: { status, ...detail } }));
  }
}

/** The websocket URL of a path on this page's own server. */
export function socketUrl(path, params) {
  const url = new URL(path, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  for (const [k, v] of Object.entries(params || {})) if (v !== null && v !== undefined) url.searchParams.set(k, v);
  return url.toString();
}
