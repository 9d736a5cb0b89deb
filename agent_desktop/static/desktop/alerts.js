// Announcing offers so that none goes unnoticed: a short sound and a browser notification for each
// new offer. Both can be turned off from the top bar; the choice is remembered in localStorage. The
// browser is asked for permission to notify once (the first time notifications are on and the
// agent does something on the page), never again on its own.
//
// The sound is made with the Web Audio API (two short tones), so there is no file to fetch and the
// page's Content-Security-Policy stays as it is. A browser only lets a page play sound after the
// agent has interacted with it; the first click or key press unlocks it.

const SOUND_KEY = "omniroute.desktop.sound";
const NOTIFY_KEY = "omniroute.desktop.notify";
const ASKED_KEY = "omniroute.desktop.notify-asked";
const LOG_SIZE = 50;

function stored(key, fallback) {
  try {
    const value = localStorage.getItem(key);
    return value === null ? fallback : value === "on";
  } catch {
    return fallback;
  }
}

function store(key, on) {
  try {
    localStorage.setItem(key, on ? "on" : "off");
  } catch {
    // private mode without storage: the choice lasts for this page only
  }
}

export class OfferAlerts extends EventTarget {
  constructor() {
    super();
    this.sound = stored(SOUND_KEY, true);
    this.notify = stored(NOTIFY_KEY, true);
    this.audio = null; // AudioContext, made on the first interaction
    this.announced = new Set(); // offer ids already announced (a reconnect lists them again)
    this.notes = new Map(); // offer id → its Notification, closed when the offer goes
    // What was announced and how, newest last: shown nowhere, read by the tests and by support.
    this.log = [];
    const unlock = () => this.unlock();
    document.addEventListener("pointerdown", unlock, { capture: true });
    document.addEventListener("keydown", unlock, { capture: true });
  }

  get permission() {
    return typeof Notification === "undefined" ? "unsupported" : Notification.permission;
  }

  /** A user gesture: let the page play sound, and ask to notify if that was never asked. */
  unlock() {
    if (this.sound && !this.audio && typeof AudioContext !== "undefined") {
      try {
        this.audio = new AudioContext();
      } catch {
        this.audio = null;
      }
    }
    if (this.audio && this.audio.state === "suspended") this.audio.resume().catch(() => {});
    this.askOnce();
  }

  askOnce() {
    if (!this.notify || this.permission !== "default" || stored(ASKED_KEY, false)) return;
    store(ASKED_KEY, true);
    Notification.requestPermission()
      .then(() => this.changed())
      .catch(() => {});
  }

  setSound(on) {
    this.sound = on;
    store(SOUND_KEY, on);
    if (on) this.unlock();
    this.changed();
  }

  setNotify(on) {
    this.notify = on;
    store(NOTIFY_KEY, on);
    if (on && this.permission === "default") {
      // turned on by hand: asking now is what the agent wants, even if it was asked before
      store(ASKED_KEY, true);
      Notification.requestPermission()
        .then(() => this.changed())
        .catch(() => {});
    }
    this.changed();
  }

  changed() {
    this.dispatchEvent(new Event("change"));
  }

  record(kind, offerId, detail = "") {
    this.log.push({ kind, offer_id: offerId, detail, at: Date.now() });
    if (this.log.length > LOG_SIZE) this.log.shift();
  }

  /** A new offer: sound and notification (each if turned on); an offer announced before is not. */
  announce(offer, { title, body, onClick }) {
    if (this.announced.has(offer.offer_id)) return;
    this.announced.add(offer.offer_id);
    if (this.sound) this.playTone(offer.offer_id);
    if (this.notify) this.showNotification(offer.offer_id, title, body, onClick);
  }

  /** The offer was accepted, rejected or withdrawn: its notification goes too. */
  forget(offerId) {
    this.announced.delete(offerId);
    const note = this.notes.get(offerId);
    if (note) note.close();
    this.notes.delete(offerId);
  }

  playTone(offerId) {
    const ctx = this.audio;
    if (!ctx || ctx.state !== "running") {
      this.record("sound_blocked", offerId, ctx ? ctx.state : "no interaction yet");
      return;
    }
    const start = ctx.currentTime;
    for (const [i, freq] of [880, 1320].entries()) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = freq;
      const t = start + i * 0.18;
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.25, t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.16);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t);
      osc.stop(t + 0.17);
    }
    this.record("sound", offerId);
  }

  showNotification(offerId, title, body, onClick) {
    if (this.permission !== "granted") {
      this.record("notification_not_allowed", offerId, this.permission);
      return;
    }
    try {
      const note = new Notification(title, { body, tag: `offer-${offerId}`, requireInteraction: true });
      this.notes.set(offerId, note);
      note.onclick = () => {
        window.focus();
        note.close();
        if (onClick) onClick();
      };
      this.record("notification", offerId);
    } catch (err) {
      this.record("notification_failed", offerId, String(err && err.message));
    }
  }
}
