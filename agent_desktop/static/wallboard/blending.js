// The wallboard's blending panel: each `[[blending]]` rule, and while one is in force, its channel, the
// group switched and for how long. Drawn from the `blending` frames the supervisor socket sends after
// the snapshot and at every switch; hidden when no rule is configured.

import { fill, h, sinceEl } from "../common/dom.js";
import { channelLabel } from "../common/channels.js";

function conditionText(rule) {
  return rule.condition === "ewt_over_seconds"
    ? `estimated wait over ${rule.threshold} s`
    : `service level under ${Math.round(rule.threshold * 100)} %`;
}

function capacityText(capacity) {
  return Object.entries(capacity)
    .map(([ch, n]) => `${channelLabel(ch)} ${n}`)
    .join(", ");
}

function ruleItem(rule) {
  const parts = [
    h("span", { class: `blend-badge ${rule.active ? "blend-on" : "blend-off"}`, text: rule.active ? "In force" : "Watching" }),
    h("span", { class: "blend-rule mono", text: rule.rule }),
    h("span", { class: "blend-channel", text: channelLabel(rule.channel) }),
  ];
  if (rule.active && rule.since) {
    parts.push(
      h("span", { class: "blend-detail", text: `group ${rule.group} at ${capacityText(rule.capacity)} for ` }),
      sinceEl(rule.since, { class: "blend-since" }),
    );
  } else {
    parts.push(h("span", { class: "blend-detail muted", text: `when ${conditionText(rule)}: group ${rule.group}` }));
  }
  return h("li", { class: "blend", dataset: { rule: rule.rule, active: String(rule.active) } }, ...parts);
}

/** Draw the rules of a `blending` frame into the panel `section` (its list is `#blending-rules`). */
export function renderBlending(section, frame) {
  const rules = frame.rules || [];
  section.hidden = rules.length === 0;
  fill(section.querySelector("#blending-rules"), ...rules.map(ruleItem));
}
