// The agent table of a big center, one page at a time: a queue filter and previous / next pages.
//
// The supervisor socket sends the rows of one view only (`view {queue, page, page_size}`, answered
// with an `agents` frame) and `agent` frames for those agents only. The view is also put in the
// socket's address (and kept for the tab), so a reconnect or a reload comes back to the same page.

import { h } from "../common/dom.js";

export const PAGE_SIZE = 50;
const STORE_KEY = "omniroute.wallboard.view";

export class AgentPaging {
  /**
   * @param board the Wallboard (its `socket`)
   * @param root the element the controls go in
   * @param onRows called with the rows of a new page (they replace the table)
   */
  constructor(board, root, onRows) {
    this.board = board;
    this.onRows = onRows;
    this.view = { queue: null, page: 0, page_size: PAGE_SIZE, total: 0, ...stored() };
    this.queueIds = [];
    this.select = h("select", { id: "agents-queue", "aria-label": "Agents of queue" });
    this.select.addEventListener("change", () => this.go(this.select.value || null, 0));
    this.prev = h("button", { type: "button", id: "agents-prev", class: "ghost", onclick: () => this.go(this.view.queue, this.view.page - 1) }, "‹ Previous");
    this.next = h("button", { type: "button", id: "agents-next", class: "ghost", onclick: () => this.go(this.view.queue, this.view.page + 1) }, "Next ›");
    this.label = h("span", { id: "agents-page", class: "agents-page", role: "status", "aria-live": "polite" });
    root.append(this.select, this.prev, this.label, this.next);
    this.render();
  }

  /** The view in the socket's address (a reconnect keeps the page). */
  params() {
    return {
      queue: this.view.queue,
      page: this.view.page ? String(this.view.page) : null,
      page_size: this.view.page_size !== PAGE_SIZE ? String(this.view.page_size) : null,
    };
  }

  /** A snapshot: its queues fill the filter, its view is the page shown. */
  onSnapshot(snapshot) {
    this.queueIds = snapshot.queues.map((q) => [q.id, q.name || q.id]);
    if (snapshot.view) this.view = { ...snapshot.view };
    this.render();
  }

  /** An `agents` frame: the rows of the new view. */
  onPage(frame) {
    this.view = { ...frame.view };
    this.render();
    this.onRows(frame.agents);
  }

  go(queue, page) {
    const socket = this.board.socket;
    if (!socket || !socket.isOpen || page < 0) return;
    socket.send({ type: "view", queue, page, page_size: this.view.page_size });
  }

  pages() {
    return Math.max(1, Math.ceil(this.view.total / this.view.page_size));
  }

  render() {
    const { queue, page, page_size } = this.view;
    sessionStorage.setItem(STORE_KEY, JSON.stringify({ queue, page, page_size }));
    const current = this.view.queue || "";
    this.select.replaceChildren(
      h("option", { value: "" }, "All queues"),
      ...this.queueIds.map(([id, name]) => h("option", { value: id }, name)),
    );
    this.select.value = current;
    this.prev.disabled = this.view.page <= 0;
    this.next.disabled = this.view.page + 1 >= this.pages();
    const first = this.view.total ? this.view.page * this.view.page_size + 1 : 0;
    const last = Math.min(this.view.total, (this.view.page + 1) * this.view.page_size);
    this.label.textContent = `Page ${this.view.page + 1} of ${this.pages()} · agents ${first} to ${last} of ${this.view.total}`;
  }
}

/** The view this tab showed last (a reload comes back to it). */
function stored() {
  try {
    const v = JSON.parse(sessionStorage.getItem(STORE_KEY) || "{}");
    return {
      queue: typeof v.queue === "string" ? v.queue : null,
      page: Number.isInteger(v.page) && v.page >= 0 ? v.page : 0,
      page_size: Number.isInteger(v.page_size) && v.page_size > 0 ? v.page_size : PAGE_SIZE,
    };
  } catch {
    return {};
  }
}
