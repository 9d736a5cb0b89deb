// Hand-written SVG charts over time: bars and lines on a left axis, lines on an optional right axis.

import { svg } from "../common/dom.js";

const W = 900;
const H = 240;
const PAD = { l: 44, r: 44, t: 26, b: 22 };

function niceMax(v) {
  if (v <= 5) return Math.max(1, Math.ceil(v));
  const magnitude = 10 ** Math.floor(Math.log10(v));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * magnitude >= v) return step * magnitude;
  }
  return 10 * magnitude;
}

const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short" });
const hourFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

/**
 * @param {object} spec
 * @param {string} spec.label  accessible name (the chart's description follows it)
 * @param {number[]} spec.times  interval starts, unix milliseconds, ascending
 * @param {Array<{name: string, cls: string, values: number[], bars?: boolean}>} spec.left
 * @param {Array<{name: string, cls: string, values: number[]}>} [spec.right]
 * @param {(v: number) => string} [spec.rightFormat]
 */
export function timeChart({ label, times, left, right = [], rightFormat = (v) => String(v) }) {
  const n = times.length;
  const leftMax = niceMax(Math.max(1, ...left.flatMap((s) => s.values.filter(Number.isFinite))));
  const rightMax = right.length ? niceMax(Math.max(1, ...right.flatMap((s) => s.values.filter(Number.isFinite)))) : 1;
  const innerW = W - PAD.l - PAD.r;
  const step = n ? innerW / n : innerW;
  const x = (i) => PAD.l + i * step;
  const yL = (v) => PAD.t + (1 - v / leftMax) * (H - PAD.t - PAD.b);
  const yR = (v) => PAD.t + (1 - v / rightMax) * (H - PAD.t - PAD.b);

  const parts = [];
  parts.push(svg("line", { class: "grid", x1: PAD.l, x2: W - PAD.r, y1: yL(0), y2: yL(0) }));
  parts.push(svg("line", { class: "grid", x1: PAD.l, x2: W - PAD.r, y1: yL(leftMax), y2: yL(leftMax) }));
  parts.push(svg("text", { class: "axis", x: PAD.l - 4, y: yL(leftMax) + 4, "text-anchor": "end", text: String(leftMax) }));
  parts.push(svg("text", { class: "axis", x: PAD.l - 4, y: yL(0) + 3, "text-anchor": "end", text: "0" }));
  if (right.length) {
    parts.push(svg("text", { class: "axis", x: W - PAD.r + 4, y: yR(rightMax) + 4, text: rightFormat(rightMax) }));
  }
  // x axis: a tick at each local midnight, or at a few hours when the chart spans a day or less
  const spanDays = n ? (times[n - 1] - times[0]) / 86_400_000 : 0;
  let lastLabelX = -Infinity;
  times.forEach((t, i) => {
    const d = new Date(t);
    const midnight = d.getHours() === 0 && d.getMinutes() === 0;
    const tick = spanDays > 1.5 ? midnight : d.getMinutes() === 0 && d.getHours() % 3 === 0;
    if (!tick || x(i) - lastLabelX < 60) return;
    lastLabelX = x(i);
    parts.push(svg("line", { class: "grid", x1: x(i), x2: x(i), y1: PAD.t, y2: yL(0) }));
    parts.push(svg("text", { class: "axis", x: x(i) + 2, y: H - 6, text: spanDays > 1.5 ? dayFmt.format(d) : hourFmt.format(d) }));
  });

  for (const s of left) {
    if (s.bars) {
      s.values.forEach((v, i) => {
        if (!Number.isFinite(v) || v <= 0) return;
        parts.push(svg("rect", { class: ["bar", s.cls], x: x(i) + step * 0.1, width: Math.max(0.5, step * 0.8), y: yL(v), height: yL(0) - yL(v) }));
      });
    } else {
      parts.push(svg("path", { class: ["series", s.cls], d: path(s.values, x, yL, step) }));
    }
  }
  for (const s of right) parts.push(svg("path", { class: ["series", s.cls], d: path(s.values, x, yR, step) }));

  // legend
  let lx = PAD.l;
  for (const s of [...left, ...right]) {
    parts.push(svg("line", { class: ["swatch", "series", s.cls], x1: lx, x2: lx + 16, y1: 10, y2: 10 }));
    parts.push(svg("text", { class: "legend", x: lx + 20, y: 14, text: s.name }));
    lx += 28 + s.name.length * 6.5;
  }

  const total = (s) => Math.round(s.values.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0));
  const description = `${label}: ${n} intervals; ${left.map((s) => `${s.name} total ${total(s)}`).join(", ")}${
    right.length ? `; ${right.map((s) => `${s.name} up to ${Math.max(0, ...s.values.filter(Number.isFinite))}`).join(", ")}` : ""
  }`;
  return svg(
    "svg",
    { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": description },
    svg("title", { text: description }),
    parts,
  );
}

function path(values, x, y, step) {
  let d = "";
  let pen = false;
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) {
      pen = false;
      return;
    }
    const px = (x(i) + step / 2).toFixed(1);
    d += `${pen ? "L" : "M"}${px},${y(v).toFixed(1)} `;
    pen = true;
  });
  return d.trim() || "M0,0";
}
