// Completing a piece of work: the dialog for the disposition code (free text with suggestions)
// and the summary. Completing starts the wrap-up; the work view shows its countdown.

import { h } from "../common/dom.js";
import { channelLabel } from "../common/channels.js";
import { formDialog } from "./dialog.js";
import { customerName } from "./offers.js";

const DISPOSITIONS = [
  "resolved",
  "follow_up",
  "callback_requested",
  "escalated",
  "information_given",
  "complaint",
  "sale",
  "no_resolution",
  "wrong_number",
];

/** The complete dialog, one for the page; open(view) fills it for a piece of work. */
export function completeDialog() {
  let target = null;
  const disposition = h("input", { id: "complete-disposition", list: "disposition-codes", autocomplete: "off", maxlength: "100" });
  const summary = h("textarea", { id: "complete-summary", rows: "5", maxlength: "20000" });
  const { open } = formDialog({
    id: "complete",
    title: "Complete",
    submitText: "Complete and start wrap-up",
    failure: "Not completed",
    fields: [
      h("label", { for: "complete-disposition", text: "Disposition code" }),
      disposition,
      h("datalist", { id: "disposition-codes" }, DISPOSITIONS.map((d) => h("option", { value: d }))),
      h("label", { for: "complete-summary", text: "Summary (stays on the customer's record)" }),
      summary,
    ],
    check: () => (target ? "" : null),
    submit: () => target.complete(disposition.value.trim(), summary.value.trim()),
  });
  return {
    open(view) {
      target = view;
      disposition.value = view.interaction.disposition || "";
      summary.value = view.interaction.summary || "";
      open(`Complete: ${customerName(view)} (${channelLabel(view.channel)})`);
      disposition.focus();
    },
  };
}
