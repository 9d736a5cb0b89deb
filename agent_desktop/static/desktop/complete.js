// Completing a piece of work: the dialog for the disposition code and the summary. A queue that lists
// its disposition codes (hello.dispositions, from the queue's `dispositions`) offers exactly those, one
// of which must be chosen; a queue that lists none takes any code, or none. Completing starts the
// wrap-up; the work view shows its countdown.

import { fill, h } from "../common/dom.js";
import { channelLabel } from "../common/channels.js";
import { formDialog } from "./dialog.js";
import { customerName } from "./offers.js";

/** The complete dialog, one for the page; open(view) fills it for a piece of work. */
export function completeDialog() {
  let target = null;
  let codes = [];
  const freeLabel = h("label", { for: "complete-disposition", text: "Disposition code" });
  const free = h("input", { id: "complete-disposition", autocomplete: "off", maxlength: "100" });
  const listLabel = h("label", { for: "complete-disposition-list", text: "Disposition" });
  const list = h("select", { id: "complete-disposition-list" });
  const summary = h("textarea", { id: "complete-summary", rows: "5", maxlength: "20000" });
  const { open } = formDialog({
    id: "complete",
    title: "Complete",
    submitText: "Complete and start wrap-up",
    failure: "Not completed",
    fields: [
      freeLabel,
      free,
      listLabel,
      list,
      h("label", { for: "complete-summary", text: "Summary (stays on the customer's record)" }),
      summary,
    ],
    check: () => {
      if (!target) return null;
      return codes.length && !list.value ? "Choose a disposition." : "";
    },
    submit: () => target.complete(codes.length ? list.value : free.value.trim(), summary.value.trim()),
  });
  return {
    open(view) {
      target = view;
      const byQueue = (view.desktop.agent && view.desktop.agent.dispositions) || {};
      codes = byQueue[view.interaction.queue] || [];
      const current = view.interaction.disposition || "";
      freeLabel.hidden = free.hidden = codes.length > 0;
      listLabel.hidden = list.hidden = codes.length === 0;
      fill(
        list,
        h("option", { value: "", text: "Choose…" }),
        codes.map((code) => h("option", { value: code, text: code.replace(/_/g, " ") })),
      );
      list.value = codes.includes(current) ? current : "";
      free.value = current;
      summary.value = view.interaction.summary || "";
      open(`Complete: ${customerName(view)} (${channelLabel(view.channel)})`);
      (codes.length ? list : free).focus();
    },
  };
}
