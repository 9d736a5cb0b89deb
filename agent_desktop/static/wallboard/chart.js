// A small inline-SVG step chart of a queue's waiting count over a time window.

import { formatClock, svg } from "../common/dom.js";

const W = 300;
const H = 70;
const PAD_L = 22;
const PAD_B = 14;
const PAD_T = 6;

/**
 * @param {Array<[number, number]>} points  [unix seconds, waiting], oldest first
 * @param {number} now     unix seconds at the right edge
 * @param {number} window  seconds shown
 * @param {string} label   accessible name
 */
export function waitingChart(points, now, window, label) {
  const start = now - window;
  // The value at the left edge is the last point before the window.
  let carried = 0;
  const inside = [];
  for (const [t, v] of points) {
    if (t < start) carried = v;
    else if (t <= now) inside.push([t, v]);
  }
  const values = [carried, ...inside.map((p) => p[1])];
  const maxV = Math.max(1, ...values);
  const top = niceMax(maxV);
  const x = (t) => PAD_L + ((t - start) / window) * (W - PAD_L - 2);
  const y = (v) => PAD_T + (1 - v / top) * (H - PAD_T - PAD_B);

  let d = `M${x(start).toFixed(1)},${y(carried).toFixed(1)}`;
  let last = carried;
  for (const [t, v] of inside) {
    d += ` H${x(t).toFixed(1)} V${y(v).toFixed(1)}`;
    last = v;
  }
  d += ` H${x(now).toFixed(1)}`;
  const area = `${d} V${y(0).toFixed(1)} H${x(start).toFixed(1)} Z`;

  const min = Math.min(...values);
  const max = Math.max(...values);
  const description = `${label}: now ${last}, lowest ${min}, highest ${max} over the last ${Math.round(window / 60)} minutes`;

  return svg(
    "svg",
    { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": description},
    svg("title", { text: description }),
    // grid: zero line and top line
    svg("line", { class: "grid", x1: PAD_L, x2: W - 2, y1: y(0), y2: y(0) }),
    svg("line", { class: "grid faint", x1: PAD_L, x2: W - 2, y1: y(top), y2: y(top) }),
    svg("text", { class: "axis", x: PAD_L - 4, y: y(top) + 4, "text-anchor": "end", text: String(top) }),
    svg("text", { class: "axis", x: PAD_L - 4, y: y(0) + 3, "text-anchor": "end", text: "0" }),
    svg("text", { class: "axis", x: PAD_L, y: H - 2, "text-anchor": "start", text: formatClock(start) }),
    svg("text", { class: "axis", x: W - 2, y: H - 2, "text-anchor": "end", text: "now" }),
    svg("path", { class: "area", d: area }),
    svg("path", { class: "line", d, fill: "none" }),
  );
}

function niceMax(v) {
  if (v <= 5) return Math.max(1, Math.ceil(v));
  const magnitude = 10 ** Math.floor(Math.log10(v));
  for (const step of [1, 2, 2.5, 5, 10]) {
    const candidate = step * magnitude;
    if (candidate >= v) return candidate;
  }
  return 10 * magnitude;
}
