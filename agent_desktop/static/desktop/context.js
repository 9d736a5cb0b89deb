// The context panel: who the customer is and everything that happened before, across channels,
// newest first, so the agent never asks the customer to repeat themselves.

import { formatValue, h, humanize, timeEl, toUnix } from "../common/dom.js";
import { channelIcon, channelLabel, hasCapability } from "../common/channels.js";

const STATUS_WORDS = {
  queued: "waiting",
  assigned: "in progress",
  wrapup: "wrap-up",
  completed: "completed",
  abandoned: "abandoned",
  transferred: "transferred",
  ended: "ended",
};

const IDENTITY_WORDS = {
  phone: "Phone",
  email: "E-mail",
  whatsapp: "WhatsApp",
  messenger: "Messenger",
  chat_visitor: "Web chat visitor",
  sms: "SMS",
};

/**
 * Render the panel for one piece of work.
 * @param {object} context  ContextRecord
 * @param {object} current  the InteractionOut being worked on
 * @param {string} idBase   a prefix for element ids (unique per work item)
 * @param {object} actions  optional: `link(customerId)` links the contact to a possible match
 */
export function renderContext(context, current, idBase, actions = {}) {
  const customer = (context && context.customer) || {};
  const identities = (context && context.identities) || [];
  const attrs = Object.entries((current && current.attributes) || {});
  const heading = (id, text) => h("h3", { id: `${idBase}-${id}`, text });

  return h(
    "aside",
    { class: "context", "aria-label": "Customer context" },
    h(
      "section",
      { class: "ctx-section ctx-profile", "aria-labelledby": `${idBase}-profile` },
      heading("profile", "Customer"),
      h("p", { class: "ctx-name", title: customer.id ? `Customer ${customer.id}` : null, text: customer.name || "Name not known" }),
      customer.anonymous
        ? h("p", { class: "ctx-anonymous", text: "Withheld number: this caller is linked to no one by their number." })
        : null,
      h(
        "dl",
        { class: "facts" },
        customer.email ? [h("dt", { text: "E-mail" }), h("dd", { text: customer.email })] : null,
        customer.phone ? [h("dt", { text: "Phone" }), h("dd", { text: customer.phone })] : null,
        customer.created_at ? [h("dt", { text: "Since" }), h("dd", {}, timeEl(customer.created_at, { long: true }))] : null,
      ),
    ),
    renderMatches(context, idBase, actions),
    renderMerges(context, idBase),
    renderHighlights(context, current, idBase),
    h(
      "section",
      { class: "ctx-section ctx-identities", "aria-labelledby": `${idBase}-identities` },
      heading("identities", `Identities (${identities.length})`),
      identities.length
        ? h(
            "ul",
            { class: "identity-list" },
            identities.map((idn) =>
              h(
                "li",
                {},
                h("span", { class: "identity-kind", text: IDENTITY_WORDS[idn.kind] || humanize(idn.kind) }),
                " ",
                h("span", { class: "identity-value", text: idn.value }),
              ),
            ),
          )
        : h("p", { class: "muted", text: "None recorded." }),
    ),
    h(
      "section",
      { class: "ctx-section ctx-collected", "aria-labelledby": `${idBase}-collected` },
      heading("collected", "Collected by the IVR or bot"),
      attrs.length
        ? h("dl", { class: "facts" }, attrs.map(([k, v]) => [h("dt", { text: humanize(k) }), h("dd", { text: formatValue(v) })]))
        : h("p", { class: "muted", text: "Nothing collected before this contact." }),
    ),
    h(
      "section",
      { class: "ctx-section ctx-journey", "aria-labelledby": `${idBase}-journey` },
      heading("journey", "Journey, newest first"),
      renderTimeline(context, current),
    ),
  );
}

/**
 * Customers that unverified details of this contact named (a phone typed into the web chat): who the
 * person might be, never their history, which stays hidden until the person is verified.
 */
function renderMatches(context, idBase, actions) {
  const matches = (context && context.possible_matches) || [];
  if (!matches.length) return null;
  return h(
    "section",
    { class: "ctx-section ctx-matches", "aria-labelledby": `${idBase}-matches` },
    h("h3", { id: `${idBase}-matches`, text: "Possible matches, not verified" }),
    h("p", { class: "muted", text: "Their history is not shown. Verify the person before discussing any account." }),
    h(
      "ul",
      { class: "match-list" },
      matches.map((m) =>
        h(
          "li",
          { title: `Customer ${m.customer_id}` },
          h("span", { class: "match-name", text: m.name || "Name not known" }),
          " ",
          h("span", {
            class: "muted",
            text: `(same ${(m.matched || []).map((k) => (IDENTITY_WORDS[k] || humanize(k)).toLowerCase()).join(", ")})`,
          }),
          actions && actions.link ? [" ", linkButton(m, actions.link)] : null,
        ),
      ),
    ),
  );
}

/**
 * Link the contact to a possible match, once the agent has verified the person: the first press asks
 * for confirmation, the second links (the records are merged; a supervisor can undo it).
 */
function linkButton(match, link) {
  const who = match.name || "this customer";
  const button = h("button", { type: "button", class: "ghost small match-link" }, "Verified: link");
  let armed = false;
  button.addEventListener("click", async () => {
    if (!armed) {
      armed = true;
      button.textContent = `Confirm: this is ${who}`;
      return;
    }
    button.disabled = true;
    try {
      await link(match.customer_id);
    } catch {
      armed = false;
      button.disabled = false;
      button.textContent = "Verified: link";
    }
  });
  return button;
}

/** The merges this customer took part in: whose records were joined, why, by whom, and any undoing. */
function renderMerges(context, idBase) {
  const merges = (context && context.merges) || [];
  if (!merges.length) return null;
  const self = context.customer && context.customer.id;
  return h(
    "section",
    { class: "ctx-section ctx-merges", "aria-labelledby": `${idBase}-merges` },
    h("h3", { id: `${idBase}-merges`, text: "Merged records" }),
    h(
      "ul",
      { class: "merge-list" },
      merges.map((m) =>
        h(
          "li",
          { class: m.unmerged_at ? "muted" : null, title: `Merge ${m.id}` },
          m.customer_id === self ? "Joined another record: " : "Merged into another record: ",
          h("span", { class: "merge-reason", text: m.reason }),
          ` · ${m.merged_by} · `,
          timeEl(m.merged_at),
          m.unmerged_at ? [" · undone ", timeEl(m.unmerged_at)] : null,
        ),
      ),
    ),
  );
}

/**
 * The notes and summaries of earlier contacts, newest first: what the last agents learnt, at the
 * top of the panel where it is seen without scrolling.
 */
function renderHighlights(context, current, idBase) {
  const items = [];
  for (const it of (context && context.interactions) || []) {
    if (current && it.id === current.id) continue;
    for (const n of it.notes || []) items.push({ at: toUnix(n.created_at) || 0, it, note: n });
    if (it.summary) items.push({ at: toUnix(it.ended_at || it.created_at) || 0, it, summary: it.summary });
  }
  if (!items.length) return null;
  items.sort((a, b) => b.at - a.at);
  const shown = items.slice(0, 4);
  return h(
    "section",
    { class: "ctx-section ctx-highlights", "aria-labelledby": `${idBase}-highlights` },
    h("h3", { id: `${idBase}-highlights`, text: "Notes and summaries so far" }),
    h(
      "ul",
      { class: "highlights" },
      shown.map(({ it, note, summary }) =>
        h(
          "li",
          { class: ["note", summary && "summary"] },
          h(
            "span",
            { class: "note-by" },
            channelIcon(it.channel),
            ` ${channelLabel(it.channel)}`,
            note && note.agent_id ? ` · ${note.agent_id}` : it.agent_id ? ` · ${it.agent_id}` : "",
            " · ",
            timeEl(note ? note.created_at : it.ended_at || it.created_at),
            summary ? " · summary" : "",
            summary && it.disposition ? ` (${it.disposition})` : "",
          ),
          h("p", { class: "note-body", text: note ? note.body : summary }),
        ),
      ),
    ),
    items.length > shown.length
      ? h("p", { class: "muted small", text: `${items.length - shown.length} more in the journey below.` })
      : null,
  );
}

/** Interactions on every channel and journey events, merged and sorted newest first. */
export function timelineEntries(context, current) {
  const entries = [];
  for (const it of (context && context.interactions) || []) {
    entries.push({ kind: "interaction", at: toUnix(it.created_at) || 0, item: it, current: current && it.id === current.id });
  }
  const shown = new Set(((context && context.interactions) || []).map((i) => i.id));
  for (const ev of (context && context.events) || []) {
    // The router records its own events (interaction.created, .transferred, .completed); the
    // interactions they belong to are already on the timeline with the same facts.
    if (String(ev.type).startsWith("interaction.") && ev.interaction_id && shown.has(ev.interaction_id)) continue;
    entries.push({ kind: "event", at: toUnix(ev.at) || 0, item: ev });
  }
  entries.sort((a, b) => b.at - a.at);
  return entries;
}

function renderTimeline(context, current) {
  const entries = timelineEntries(context, current);
  if (!entries.length) return h("p", { class: "muted", text: "First contact." });
  return h(
    "ol",
    { class: "timeline" },
    entries.map((e) => (e.kind === "interaction" ? renderInteraction(e.item, e.current) : renderEvent(e.item))),
  );
}

function renderInteraction(it, isCurrent) {
  const attrs = Object.entries(it.attributes || {});
  const notes = it.notes || [];
  const messages = it.messages || [];
  const title = isCurrent ? `${channelLabel(it.channel)} — this contact` : channelLabel(it.channel);
  return h(
    "li",
    {
      class: ["tl-item", "tl-interaction", `channel-${it.channel}`, isCurrent && "tl-current"],
      dataset: { interactionId: it.id, channel: it.channel },
    },
    h(
      "div",
      { class: "tl-head" },
      channelIcon(it.channel),
      h("strong", { class: "tl-title", text: title }),
      timeEl(it.created_at),
    ),
    h(
      "p",
      { class: "tl-meta" },
      h("span", { class: ["status", `status-${it.status}`], text: STATUS_WORDS[it.status] || it.status }),
      it.queue ? h("span", { text: ` · queue ${it.queue}` }) : null,
      it.agent_id ? h("span", { text: ` · agent ${it.agent_id}` }) : null,
      it.disposition ? h("span", { class: "disposition", text: ` · ${it.disposition}` }) : null,
      it.end_reason && it.end_reason !== it.status ? h("span", { text: ` · ${humanize(it.end_reason)}` }) : null,
    ),
    it.subject ? h("p", { class: "tl-subject", text: it.subject }) : null,
    attrs.length && !isCurrent
      ? h("p", { class: "chips" }, attrs.map(([k, v]) => h("span", { class: "chip attr", text: `${humanize(k)}: ${formatValue(v)}` })))
      : null,
    it.summary
      ? h("div", { class: "tl-summary" }, h("span", { class: "label", text: "Summary" }), h("p", { text: it.summary }))
      : null,
    it.survey ? renderSurvey(it) : null,
    notes.length && !isCurrent
      ? h(
          "ul",
          { class: "tl-notes", "aria-label": "Notes" },
          notes.map((n) =>
            h(
              "li",
              { class: "note" },
              h("span", { class: "note-by" }, `Note${n.agent_id ? ` by ${n.agent_id}` : ""} · `, timeEl(n.created_at)),
              h("p", { class: "note-body", text: n.body }),
            ),
          ),
        )
      : null,
    messages.length && !isCurrent
      ? h(
          "details",
          { class: "tl-transcript" },
          h("summary", {}, `${hasCapability(it.channel, "subject") ? "Thread" : "Transcript"} (${messages.length} message${messages.length === 1 ? "" : "s"})`),
          h(
            "ol",
            { class: "tl-messages" },
            messages.map((m) =>
              h(
                "li",
                { class: ["tl-msg", m.direction] },
                h("span", { class: "who", text: m.direction === "inbound" ? "Customer" : m.agent_id || "Agent" }),
                " ",
                timeEl(m.created_at),
                h("p", { text: m.body }),
              ),
            ),
          ),
        )
      : null,
  );
}

// The customer's answer to the survey about a contact: "NPS 3 after this call", with how it reads on its
// scale (docs/reports.md), and the customer's comment as text.
const SURVEY_NAMES = { csat: "CSAT", nps: "NPS", ces: "CES" };
const SURVEY_SCALES = { csat: [1, 5], nps: [0, 10], ces: [1, 7] };

function surveyTone(survey) {
  const { kind, score } = survey;
  if (kind === "nps") return score >= 9 ? "good" : score <= 6 ? "bad" : "neutral";
  if (kind === "csat") return score >= 4 ? "good" : score <= 2 ? "bad" : "neutral";
  return score <= 2 ? "good" : score >= 5 ? "bad" : "neutral"; // CES: low effort is good
}

function renderSurvey(it) {
  const { kind, score, comment } = it.survey;
  const [low, high] = SURVEY_SCALES[kind] || [0, 0];
  return h(
    "p",
    { class: ["tl-survey", `survey-${surveyTone(it.survey)}`], dataset: { surveyKind: kind } },
    h("strong", { text: `${SURVEY_NAMES[kind] || kind} ${score}` }),
    h("span", { class: "muted", text: ` (${low}–${high}) after this ${channelLabel(it.channel).toLowerCase()}` }),
    comment ? h("span", { class: "survey-comment", text: ` · “${comment}”` }) : null,
  );
}

function renderEvent(ev) {
  const data = ev.data || {};
  const isPage = ev.type === "page_view" || ev.type === "page" || "url" in data;
  const title = isPage ? "Visited a page" : humanize(ev.type);
  const rest = Object.entries(data).filter(([k]) => !(isPage && (k === "url" || k === "title")));
  return h(
    "li",
    { class: ["tl-item", "tl-event", isPage && "tl-page"], dataset: { eventType: ev.type } },
    h(
      "div",
      { class: "tl-head" },
      h("span", { class: "tl-dot", "aria-hidden": "true" }),
      h("strong", { class: "tl-title", text: title }),
      timeEl(ev.at),
    ),
    isPage && (data.title || data.url)
      ? h(
          "p",
          { class: "tl-page-ref" },
          data.title ? h("span", { class: "page-title", text: String(data.title) }) : null,
          data.title && data.url ? " " : null,
          data.url ? h("span", { class: "page-url mono", title: String(data.url), text: String(data.url) }) : null,
        )
      : null,
    rest.length
      ? h("p", { class: "chips" }, rest.map(([k, v]) => h("span", { class: "chip", text: `${humanize(k)}: ${formatValue(v)}` })))
      : null,
  );
}
