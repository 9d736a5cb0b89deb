// Transfer or escalation: the dialog for the target queue (from hello.queues), the channel (the
// same one, or another from hello.channels) and a note for the next agent, saved with the context.

import { fill, h } from "../common/dom.js";
import { channelLabel, channelNames } from "../common/channels.js";
import { formDialog } from "./dialog.js";
import { customerName } from "./offers.js";

/** The transfer dialog, one for the page; open(view) fills it for a piece of work. */
export function transferDialog(desktop) {
  let target = null;
  const queue = h("select", { id: "transfer-queue", required: true });
  const channel = h("select", { id: "transfer-channel" });
  const note = h("textarea", { id: "transfer-note", rows: "4", maxlength: "20000" });
  const { open } = formDialog({
    id: "transfer",
    title: "Transfer",
    submitText: "Transfer",
    failure: "Not transferred",
    fields: [
      h("label", { for: "transfer-queue", text: "To queue" }),
      queue,
      h("label", { for: "transfer-channel", text: "On channel" }),
      channel,
      h("label", { for: "transfer-note", text: "Note for the next agent (travels with the context)" }),
      note,
    ],
    check: () => {
      if (!target) return null;
      if (queue.value) return "";
      queue.focus();
      return "Choose a queue.";
    },
    submit: () => target.transfer(queue.value, channel.value, note.value.trim()),
  });
  return {
    open(view) {
      target = view;
      const agent = desktop.agent || {};
      // The current queue stays in the list: escalating to another channel in the same queue is
      // an everyday move (a call continued by SMS).
      const queues = agent.queues || [];
      fill(
        queue,
        h("option", { value: "", text: queues.length ? "Choose a queue…" : "No queue to transfer to" }),
        queues.map((q) => h("option", { value: q, text: q === view.interaction.queue ? `${q} (current)` : q })),
      );
      const channels = Object.keys(agent.channels || {}).length ? Object.keys(agent.channels) : channelNames();
      fill(
        channel,
        h("option", { value: view.channel, text: `Same channel (${channelLabel(view.channel)})` }),
        channels.filter((c) => c !== view.channel).map((c) => h("option", { value: c, text: `Escalate to ${channelLabel(c)}` })),
      );
      note.value = "";
      open(`Transfer: ${customerName(view)} (${channelLabel(view.channel)})`);
      queue.focus();
    },
  };
}
