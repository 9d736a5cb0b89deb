// The agent's quality reviews: the scores supervisors gave to the agent's handled work
// (GET /v1/agents/{id}/reviews, the agent's own only), newest first, in a dialog opened from the top
// bar. The button shows the latest score; the list is read again on every (re)connect and on opening.

import { fill, h, timeEl } from "../common/dom.js";

export class ReviewPanel {
  constructor(dialog, desktop) {
    this.dialog = dialog;
    this.desktop = desktop;
    this.button = document.getElementById("reviews-button");
    this.list = h("ol", { class: "review-list" });
    this.status = h("p", { class: "muted", role: "status" });
    fill(
      dialog,
      h("h2", { id: "reviews-title", text: "Your quality reviews" }),
      this.status,
      this.list,
      h("form", { method: "dialog" }, h("button", { class: "primary" }, "Close")),
    );
    this.button.addEventListener("click", () => {
      this.dialog.showModal();
      this.load();
    });
  }

  async load() {
    const session = this.desktop.session;
    if (!session) return;
    let reviews;
    try {
      const url = `/v1/agents/${encodeURIComponent(session.agentId)}/reviews`;
      const response = await fetch(url, { headers: { Authorization: `Bearer ${session.token}` }, cache: "no-store" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      reviews = await response.json();
    } catch (err) {
      this.status.textContent = `Could not read your reviews (${err.message}).`;
      return;
    }
    this.render(reviews);
  }

  render(reviews) {
    this.status.textContent = reviews.length ? "" : "No review of your work yet.";
    fill(this.button, "Reviews", reviews.length ? h("span", { class: "badge review-latest", text: score(reviews[0]) }) : null);
    fill(
      this.list,
      reviews.map((r) =>
        h(
          "li",
          { class: ["review", r.critical_failed && "critical"], dataset: { reviewId: r.id, interactionId: r.interaction_id } },
          h("strong", { class: "review-score", text: score(r) }),
          " ",
          h("span", { text: `${r.form_id} · queue ${r.queue} · ` }),
          timeEl(r.created_at),
          r.critical_failed ? h("span", { class: "pill ended", text: "critical question failed" }) : null,
          r.comment ? h("p", { class: "review-comment", text: r.comment }) : null,
        ),
      ),
    );
  }
}

function score(review) {
  return `${Math.round(review.score)} / 100`;
}
