// The work held by the agent, as tabs: one tab and one panel (work-view.js) per interaction, in
// the order it arrived. Frames from the agent socket reach the right piece of work through here;
// the arrow keys, Home and End move between the tabs.

import { completeDialog } from "./complete.js";
import { transferDialog } from "./transfer.js";
import { WorkView } from "./work-view.js";

export class Workspace extends EventTarget {
  constructor({ tabs, panels, empty }, desktop) {
    super();
    this.tabs = tabs;
    this.panels = panels;
    this.empty = empty;
    this.desktop = desktop;
    this.views = new Map(); // interaction id → WorkView, in tab order
    this.activeId = null;
    this.expected = new Set();
    this.dialogs = { complete: completeDialog(), transfer: transferDialog(desktop) };
    this.tabs.addEventListener("keydown", (event) => this.onTabKey(event));
    this.render();
  }

  get size() {
    return this.views.size;
  }

  /** The agent accepted this interaction: focus it when it is assigned. */
  expect(interactionId) {
    this.expected.add(interactionId);
  }

  expecting(interactionId) {
    return this.expected.has(interactionId);
  }

  assign(item, { focus = false } = {}) {
    const id = item.interaction.id;
    const mine = this.expected.delete(id);
    let view = this.views.get(id);
    if (view) view.update(item);
    else {
      view = new WorkView(item, this);
      this.views.set(id, view);
      this.tabs.append(view.tab);
      this.panels.append(view.panel);
    }
    if (focus || mine || !this.activeId) this.activate(id, { focusWork: focus || mine });
    this.render();
  }

  /** The `hello` after a (re)connect lists the work held: keep drafts, add new, drop what is gone. */
  sync(items) {
    const ids = new Set(items.map((w) => w.interaction.id));
    for (const id of [...this.views.keys()]) if (!ids.has(id)) this.remove(id);
    for (const item of items) this.assign(item);
  }

  /** The customer of this work changed (a merge, such as the agent's own link): show the new context. */
  context(interactionId, context) {
    const view = this.views.get(interactionId);
    if (!view) return;
    view.setContext(context);
    this.render();
  }

  message(interactionId, message) {
    const view = this.views.get(interactionId);
    if (!view) return;
    view.addMessage(message);
    if (message.direction === "inbound" && (interactionId !== this.activeId || document.hidden)) view.markUnread();
  }

  messageStatus(frame) {
    const id = frame.message_id || (frame.message && frame.message.id);
    const status = frame.status || (frame.message && frame.message.status);
    if (frame.interaction_id) {
      const view = this.views.get(frame.interaction_id);
      if (view) view.messageStatus(id, status, frame.detail);
    } else {
      for (const view of this.views.values()) view.messageStatus(id, status, frame.detail);
    }
  }

  ended(interactionId, reason, wrapupUntil) {
    const view = this.views.get(interactionId);
    if (!view) return;
    if (reason === "transferred" && !wrapupUntil) {
      this.remove(interactionId);
      return;
    }
    view.setEnded(reason, wrapupUntil);
    this.render();
  }

  wrapupEnded(interactionId) {
    this.remove(interactionId);
  }

  remove(interactionId) {
    const view = this.views.get(interactionId);
    if (!view) return;
    const ids = [...this.views.keys()];
    const index = ids.indexOf(interactionId);
    view.tab.remove();
    view.panel.remove();
    this.views.delete(interactionId);
    if (this.activeId === interactionId) {
      this.activeId = null;
      const rest = [...this.views.keys()];
      if (rest.length) this.activate(rest[Math.min(index, rest.length - 1)]);
    }
    this.render();
  }

  clearAll() {
    for (const id of [...this.views.keys()]) this.remove(id);
    this.expected.clear();
  }

  activate(interactionId, { focusTab = false, focusWork = false } = {}) {
    if (!this.views.has(interactionId)) return;
    this.activeId = interactionId;
    for (const [id, view] of this.views) view.setActive(id === interactionId);
    const view = this.views.get(interactionId);
    if (focusTab) view.tab.focus();
    else if (focusWork) view.focusPrimary();
    this.render();
  }

  step(delta) {
    const ids = [...this.views.keys()];
    if (!ids.length) return;
    const i = Math.max(0, ids.indexOf(this.activeId));
    this.activate(ids[(i + delta + ids.length) % ids.length], { focusTab: true });
  }

  focusNote() {
    const view = this.views.get(this.activeId);
    if (view) view.notes.focus();
  }

  onTabKey(event) {
    const ids = [...this.views.keys()];
    const i = ids.indexOf(this.activeId);
    let target = null;
    if (event.key === "ArrowRight") target = ids[(i + 1) % ids.length];
    else if (event.key === "ArrowLeft") target = ids[(i - 1 + ids.length) % ids.length];
    else if (event.key === "Home") target = ids[0];
    else if (event.key === "End") target = ids[ids.length - 1];
    if (target) {
      event.preventDefault();
      this.activate(target, { focusTab: true });
    }
  }

  loadByChannel() {
    const load = {};
    for (const view of this.views.values()) {
      const ch = view.interaction.channel;
      load[ch] = (load[ch] || 0) + 1;
    }
    return load;
  }

  render() {
    const any = this.views.size > 0;
    this.empty.hidden = any;
    this.tabs.hidden = !any;
    this.dispatchEvent(new Event("change"));
  }
}
