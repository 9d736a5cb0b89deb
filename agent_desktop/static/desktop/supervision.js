// What supervisors do that the agent sees: a supervisor's coaching (`whisper` frames, shown apart
// from the conversation and never sent to the customer), messages a supervisor wrote to the customer
// (a barge: marked in the transcript), work a supervisor took over (`taken_over`), and collision
// warnings: another agent holds live work of the same customer (`collisions` on offers and work,
// `collision` frames), linked to that interaction in the context panel.

import { channelLabel } from "../common/channels.js";
import { fill, h, timeEl } from "../common/dom.js";

const SUPERVISOR_AUTHOR = "supervisor:";

/** A message a supervisor wrote into the conversation (its author is `supervisor:<token id>`). */
export function isSupervisorAuthor(agentId) {
  return typeof agentId === "string" && agentId.startsWith(SUPERVISOR_AUTHOR);
}

/** The warning of an offer card or a work area: who else answers this customer, and where. */
export function collisionWarning(collisions, { onOpen = null } = {}) {
  if (!collisions || !collisions.length) return null;
  return h(
    "div",
    { class: "collision-warning", role: "alert", dataset: { collisions: String(collisions.length) } },
    h("strong", { text: "Another agent is answering this customer: " }),
    collisions.map((c, i) => [
      i ? ", " : "",
      h(
        "a",
        {
          href: `#interaction-${c.interaction_id}`,
          class: "collision-link",
          dataset: { interactionId: c.interaction_id, agentId: c.agent_id },
          onclick: (event) => {
            event.preventDefault();
            if (onOpen) onOpen(c.interaction_id);
          },
        },
        `${channelLabel(c.channel)} with ${c.agent_id}`,
      ),
    ]),
    ". Agree who answers before you reply.",
  );
}

/** Show the other interaction in the work's context panel (its timeline entry), if it is listed. */
function openInContext(view, interactionId) {
  const entry = view.panel.querySelector(`.tl-interaction[data-interaction-id="${CSS.escape(interactionId)}"]`);
  if (!entry) return;
  entry.scrollIntoView({ block: "nearest" });
  entry.classList.add("tl-flash");
  setTimeout(() => entry.classList.remove("tl-flash"), 1500);
}

export class Supervision {
  constructor(desktop) {
    this.desktop = desktop;
    this.collisions = new Map(); // interaction id → collisions shown on its work
  }

  /** The frames of this module; false for any other frame. */
  onFrame(frame) {
    switch (frame.type) {
      case "whisper":
        this.whisper(frame);
        return true;
      case "collision":
        this.addCollisions(frame.interaction_id, frame.collisions || []);
        return true;
      case "taken_over":
        this.takenOver(frame);
        return true;
      default:
        return false;
    }
  }

  /** An `assigned` frame or a `hello` work item: its warning, as the server sees it now. */
  workAssigned(item) {
    this.collisions.set(item.interaction.id, item.collisions || []);
    this.renderCollisions(item.interaction.id);
  }

  addCollisions(interactionId, found) {
    const known = this.collisions.get(interactionId) || [];
    const ids = new Set(known.map((c) => c.interaction_id));
    this.collisions.set(interactionId, [...known, ...found.filter((c) => !ids.has(c.interaction_id))]);
    this.renderCollisions(interactionId);
    this.desktop.toast("Another agent now answers the same customer: see the warning on your work.", "warn");
  }

  renderCollisions(interactionId) {
    const view = this.desktop.work.views.get(interactionId);
    if (!view) return;
    if (!view.collisionSlot) {
      view.collisionSlot = h("div", { class: "collision-slot" });
      view.banner.before(view.collisionSlot);
    }
    fill(view.collisionSlot, collisionWarning(this.collisions.get(interactionId), { onOpen: (id) => openInContext(view, id) }));
  }

  whisper(frame) {
    const view = this.desktop.work.views.get(frame.interaction_id);
    const item = h(
      "li",
      { class: "whisper" },
      h("p", { class: "whisper-body", text: frame.body }),
      h("span", { class: "msg-meta" }, "Supervisor · ", timeEl(frame.at)),
    );
    if (!view) {
      this.desktop.toast(`Supervisor: ${frame.body}`, "info");
      return;
    }
    if (!view.coaching) {
      view.coachingList = h("ol", { class: "whisper-list", role: "log", "aria-live": "polite", "aria-label": "Coaching from your supervisor" });
      view.coaching = h(
        "aside",
        { class: "coaching", "aria-labelledby": `coaching-${view.uid}` },
        h("h3", { id: `coaching-${view.uid}`, text: "Coaching from your supervisor (the customer does not see this)" }),
        view.coachingList,
      );
      view.banner.after(view.coaching);
    }
    view.coachingList.append(item);
    if (frame.interaction_id !== this.desktop.work.activeId) view.markUnread();
  }

  takenOver(frame) {
    const view = this.desktop.work.views.get(frame.interaction_id);
    this.collisions.delete(frame.interaction_id);
    if (view) this.desktop.work.remove(frame.interaction_id);
    this.desktop.toast(`A supervisor took this conversation over (${frame.to_agent} continues it).`, "warn");
  }
}
