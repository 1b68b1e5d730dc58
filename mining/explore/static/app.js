// mot explore: the page of `mot serve`. Every figure comes from the JSON API (mining/explore/app.py),
// which runs it in DuckDB on the filtered cases; this page never builds SQL. The whole view (process,
// filters, map settings, tab) lives in the URL, so a link shares it.
"use strict";

const FILTER_KEYS = ["since", "until", "timeframe", "variant", "outcome", "with", "without", "min_duration", "max_duration"];
const VIEW_KEYS = ["process", "tab", "view", "measure", "activities", "paths"];
const state = { attributes: null, offset: 0, limit: 50, drill: {}, zoom: { scale: 1, x: 0, y: 0 } };
const $ = (sel) => document.querySelector(sel);
const $$ = (sel) => [...document.querySelectorAll(sel)];

// --- the URL is the state -------------------------------------------------------------------------------

function params() { return new URLSearchParams(location.search); }
function isFilter(key) { return FILTER_KEYS.includes(key) || key.startsWith("case.") || key.startsWith("event."); }
function filterPairs() { return [...params()].filter(([k]) => isFilter(k)); }
function setting(key, fallback) { return params().get(key) ?? fallback; }

function update(changes, { keepFilters = true } = {}) {
  const next = new URLSearchParams();
  for (const [k, v] of params()) if (!(k in changes) && (keepFilters || !isFilter(k))) next.append(k, v);
  for (const [k, v] of Object.entries(changes)) {
    for (const item of Array.isArray(v) ? v : [v]) if (item !== null && item !== undefined && item !== "") next.append(k, item);
  }
  history.replaceState(null, "", "?" + next.toString());
}

function setFilters(pairs) {
  const next = new URLSearchParams([...params()].filter(([k]) => !isFilter(k)));
  for (const [k, v] of pairs) next.append(k, v);
  history.replaceState(null, "", "?" + next.toString());
  state.offset = 0;
  refresh();
}

// --- the API ---------------------------------------------------------------------------------------------

function query(extra = {}, { filters = true } = {}) {
  const q = new URLSearchParams();
  q.set("process", setting("process", ""));
  if (filters) for (const [k, v] of filterPairs()) q.append(k, v);
  for (const [k, v] of Object.entries(extra)) {
    for (const item of Array.isArray(v) ? v : [v]) if (item !== null && item !== undefined && item !== "") q.append(k, item);
  }
  return q.toString();
}

async function api(path, extra, options) {
  const response = await fetch(`/api/${path}?${query(extra, options)}`);
  const body = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }));
  if (!response.ok) throw new Error(body.error || `${response.status}`);
  return body;
}

function showError(where, error) {
  where.replaceChildren(el("p", { class: "error", role: "alert" }, String(error.message || error)));
}

// --- small DOM helpers -------------------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  return node;
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "n/a";
  const s = Math.abs(seconds);
  if (s < 60) return `${seconds.toFixed(0)} s`;
  if (s < 3600) return `${(seconds / 60).toFixed(1)} min`;
  if (s < 86400) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

function cell(key, value) {
  if (value === null || value === undefined) return el("td", { class: "not-measurable" }, "n/a");
  if (typeof value === "number") {
    const text = /(_s|seconds)$/.test(key) ? duration(value) : Number.isInteger(value) ? value.toLocaleString("en") : value.toFixed(3);
    return el("td", { class: "num" }, text);
  }
  if (Array.isArray(value)) return el("td", {}, value.join(" → "));
  if (typeof value === "object") return el("td", { class: "note" }, Object.entries(value).map(([k, v]) => `${k.replaceAll("_", " ")}: ${v}`).join("; "));
  const moment = /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(value) ? String(value).slice(0, 16).replace("T", " ") : null;
  return moment ? el("td", { class: "ts", title: value }, moment) : el("td", {}, String(value));
}

function table(rows, { onRow, columns, detail } = {}) {
  if (!rows || !rows.length) return el("p", { class: "note" }, "Nothing here.");
  const keys = columns || Object.keys(rows[0]);
  const head = el("tr", {}, keys.map((k) => el("th", { class: typeof rows[0][k] === "number" ? "num" : null }, k.replaceAll("_", " "))));
  const body = rows.flatMap((row) => [
    el("tr", onRow ? { class: "click", onclick: () => onRow(row) } : {}, keys.map((k) => cell(k, row[k]))),
    detail && row[detail] ? el("tr", { class: "detail" }, el("td", { colspan: keys.length }, typeof row[detail] === "string" ? row[detail] : JSON.stringify(row[detail]))) : null,
  ]);
  return el("table", {}, el("thead", {}, head), el("tbody", {}, body));
}

// The findings' tables: the columns a reader needs, the evidence under each row.
const FINDINGS = {
  waste: { title: "Waste candidates", lead: "Steps ranked as candidates for removal, each with its evidence; click one for its cases.",
    columns: ["rank", "activity", "recommendation", "waste_score", "frequency", "cases", "reason", "not_measurable"] },
  funnel: { title: "Funnel", lead: "How many cases reach each step and how many leave after it.",
    columns: ["step", "activity", "n_cases_reached", "n_left_after", "leave_rate", "share_of_dropouts"] },
  dropout_places: { title: "Where cases drop out", lead: "The last activity of cases that ended without an outcome.",
    columns: ["rank", "activity", "after_activity", "n_dropout", "share"] },
  dropout_causes: { title: "Drop-out causes", lead: "Factors that go with dropping out, with support and lift.",
    columns: ["rank", "factor_kind", "factor", "value", "activity", "n_cases", "n_dropout", "lift", "relative_risk", "status", "note"] },
  dropout_removal: { title: "Drop-outs avoided if a step went", lead: "Estimated drop-outs avoided by removing a step, where measurable.",
    columns: ["rank", "kind", "activity", "state", "measurable", "reason", "dropouts_avoided", "share_of_dropouts"] },
  knock_on: { title: "Knock-on effects", lead: "A poor moment followed by a poor later moment, against the base rate.",
    columns: ["from_activity", "to_activity", "n", "p_poor_given_poor", "p_poor_given_good", "lift", "effect"] },
};

// --- header: processes, counters, chips ------------------------------------------------------------------------

async function loadProcesses() {
  const { processes } = await api("processes", {}, { filters: false });
  const select = $("#process");
  select.replaceChildren(...processes.map((p) => el("option", { value: p.process }, `${p.process} (${p.cases.toLocaleString("en")} cases)`)));
  if (!processes.some((p) => p.process === setting("process"))) update({ process: processes[0]?.process });
  select.value = setting("process");
  select.onchange = () => { update({ process: select.value }, { keepFilters: false }); state.attributes = null; refresh(); };
}

async function loadOverview() {
  const o = await api("overview");
  const f = o.filtered, t = o.total;
  const counter = (label, value, total) => el("div", {}, el("dt", {}, label), el("dd", {}, total !== undefined && total !== value ? `${value.toLocaleString("en")} of ${total.toLocaleString("en")}` : value.toLocaleString("en")));
  $("#counters").replaceChildren(
    counter("cases", f.cases, t.cases), counter("events", f.events, t.events), counter("variants", f.variants, t.variants),
    el("div", {}, el("dt", {}, "median throughput"), el("dd", {}, duration(f.median_throughput_s))));
  $("#chips").replaceChildren(...(o.chips || []).map((chip) => el("li", { class: "chip" }, chip.label,
    el("button", { type: "button", title: "Remove this filter", "aria-label": `Remove ${chip.label}`,
      onclick: () => setFilters(filterPairs().filter(([k, v]) => !(k === chip.key && v === String(chip.value)))) }, "×"))));
}

// --- the map ------------------------------------------------------------------------------------------------------

async function loadMap() {
  const box = $("#map");
  box.classList.add("busy");
  try {
    const m = await api("map", { view: setting("view", "frequency"), measure: setting("measure", "mean"),
      activities: setting("activities", "100"), paths: setting("paths", "100") });
    box.innerHTML = m.svg;  // the server's SVG from Graphviz: activity names escaped there
    const notes = Object.values(m.notes || {});
    const shown = `${m.shown.activities} activities, ${m.shown.arcs} of their ${m.shown.arcs_total} arcs`;
    $("#map-caption").textContent = [`${shown} (click a box or an arc for its cases)`, ...notes].join("; ");
    bindMap(box);
    fit();
  } catch (error) { showError(box, error); }
  box.classList.remove("busy");
}

function bindMap(box) {
  for (const node of box.querySelectorAll(".node[data-activity]")) {
    node.addEventListener("click", (e) => { e.stopPropagation(); drill({ activity: node.dataset.activity }, `Cases with ${node.dataset.activity}`); });
  }
  for (const arc of box.querySelectorAll(".arc[data-source][data-target]")) {
    arc.addEventListener("click", (e) => { e.stopPropagation(); drill({ source: arc.dataset.source, target: arc.dataset.target }, `Cases where ${arc.dataset.source} is directly followed by ${arc.dataset.target}`); });
  }
}

function applyZoom() {
  const svg = $("#map svg");
  if (svg) svg.style.transform = `translate(${state.zoom.x}px, ${state.zoom.y}px) scale(${state.zoom.scale})`;
}

// The map opens at its natural size or the box's width, whichever is smaller, so its text stays
// readable and a tall map is panned; "Fit" shows the whole map at once.
function fit(whole = false) {
  const box = $("#map"), svg = $("#map svg");
  if (!svg) return;
  const w = svg.width.baseVal.value || svg.getBBox().width, h = svg.height.baseVal.value || svg.getBBox().height;
  const scale = whole ? Math.min(box.clientWidth / w, box.clientHeight / h, 1) : Math.min(box.clientWidth / w, 1);
  state.zoom = { scale, x: (box.clientWidth - w * scale) / 2, y: 8 };
  applyZoom();
}

function zoomAt(factor, cx, cy) {
  const z = state.zoom, scale = Math.min(Math.max(z.scale * factor, 0.1), 8);
  state.zoom = { scale, x: cx - ((cx - z.x) * scale) / z.scale, y: cy - ((cy - z.y) * scale) / z.scale };
  applyZoom();
}

function bindZoom() {
  const box = $("#map");
  box.addEventListener("wheel", (e) => { e.preventDefault(); const r = box.getBoundingClientRect(); zoomAt(e.deltaY < 0 ? 1.15 : 1 / 1.15, e.clientX - r.left, e.clientY - r.top); }, { passive: false });
  let drag = null;
  box.addEventListener("pointerdown", (e) => { drag = { x: e.clientX - state.zoom.x, y: e.clientY - state.zoom.y }; });
  window.addEventListener("pointermove", (e) => { if (drag) { state.zoom.x = e.clientX - drag.x; state.zoom.y = e.clientY - drag.y; applyZoom(); } });
  window.addEventListener("pointerup", () => { drag = null; });
  $("#zoom-in").onclick = () => zoomAt(1.25, box.clientWidth / 2, box.clientHeight / 2);
  $("#zoom-out").onclick = () => zoomAt(1 / 1.25, box.clientWidth / 2, box.clientHeight / 2);
  $("#zoom-fit").onclick = () => fit(true);
}

function bindMapControls() {
  for (const b of $$("[data-view]")) b.onclick = () => { update({ view: b.dataset.view }); syncControls(); loadMap(); };
  $("#measure").onchange = () => { update({ measure: $("#measure").value }); loadMap(); };
  for (const id of ["activities", "paths"]) {
    const input = $(`#${id}`);
    input.oninput = () => { $(`#${id}-out`).textContent = `${input.value}%`; };
    input.onchange = () => { update({ [id]: input.value }); loadMap(); };
  }
}

function syncControls() {
  for (const b of $$("[data-view]")) b.setAttribute("aria-pressed", String(b.dataset.view === setting("view", "frequency")));
  $("#measure").value = setting("measure", "mean");
  for (const id of ["activities", "paths"]) { $(`#${id}`).value = setting(id, "100"); $(`#${id}-out`).textContent = `${setting(id, "100")}%`; }
}

// --- drill-down: cases, one case's journey ---------------------------------------------------------------------------

async function drill(restriction, title) {
  state.drill = { restriction, title, offset: 0 };
  await showDrill();
}

async function showDrill() {
  const { restriction, title, offset } = state.drill;
  const body = $("#drawer-body");
  $("#drawer").hidden = false;
  try {
    const page = await api("cases", { ...restriction, limit: state.limit, offset });
    const more = offset + page.cases.length < page.total;
    body.replaceChildren(el("h2", {}, title), el("p", { class: "caption" }, `${page.total.toLocaleString("en")} cases; click one for its journey.`),
      table(page.cases, { onRow: (row) => journey(row.case_id) }),
      el("div", { class: "pager" },
        offset > 0 ? el("button", { type: "button", class: "quiet", onclick: () => { state.drill.offset -= state.limit; showDrill(); } }, "← Previous") : null,
        more ? el("button", { type: "button", class: "quiet", onclick: () => { state.drill.offset += state.limit; showDrill(); } }, "Next →") : null));
  } catch (error) { showError(body, error); }
}

async function journey(caseId) {
  const body = $("#drawer-body");
  $("#drawer").hidden = false;
  try {
    const j = await api("case", { case_id: caseId }, { filters: false });
    const back = state.drill.title ? el("button", { type: "button", class: "quiet", onclick: showDrill }, "← Back to the cases") : null;
    const facts = Object.entries(j.case).filter(([, v]) => typeof v !== "object" || v === null);
    // Moment fields belong to the events that are moments; the others leave them blank, not "n/a".
    const blank = { score: "", running_score: "", wait_s: "", expected_wait_s: "", wait_status: "" };
    const events = j.events.map((e) => (e.is_moment_of_truth ? { ...e, moment: `${e.channel || "moment"}${e.poor ? " (poor)" : ""}` } : { ...e, ...blank, moment: "" }));
    const fact = (k, v) => (v === null ? "n/a" : /_s$/.test(k) ? duration(v) : typeof v === "number" && !Number.isInteger(v) ? v.toFixed(3) : String(v).replace(/^(\d{4}-\d\d-\d\d)T(\d\d:\d\d).*/, "$1 $2"));
    body.replaceChildren(...[back, el("h2", {}, `Case ${caseId}`),
      el("dl", { class: "facts" }, facts.flatMap(([k, v]) => [el("dt", {}, k.replaceAll("_", " ")), el("dd", {}, fact(k, v))]))].filter(Boolean),
      ...Object.values(j.notes || {}).map((n) => el("p", { class: "note" }, n)),
      table(events, { columns: ["pos", "ts", "activity", "resource", "moment", "score", "running_score", "wait_s", "expected_wait_s", "wait_status"] }));
  } catch (error) { showError(body, error); }
}

// --- the other tabs ------------------------------------------------------------------------------------------------------

async function loadVariants() {
  const box = $("#variants");
  try {
    const { variants } = await api("variants");
    box.replaceChildren(table(variants, { columns: ["rank", "cases", "share", "median_throughput_s", "activities"], onRow: (v) => drill({ of_variant: v.rank }, `Cases of variant ${v.rank}`) }));
  } catch (error) { showError(box, error); }
}

async function loadCases() {
  const box = $("#cases");
  try {
    const page = await api("cases", { limit: state.limit, offset: state.offset });
    $("#cases-caption").textContent = `${page.total.toLocaleString("en")} cases, ${state.offset + 1}–${state.offset + page.cases.length}; click one for its journey.`;
    box.replaceChildren(table(page.cases, { onRow: (row) => journey(row.case_id) }));
    $("#prev").disabled = state.offset === 0;
    $("#next").disabled = state.offset + page.cases.length >= page.total;
  } catch (error) { showError(box, error); }
}

async function loadFindings() {
  const box = $("#findings");
  try {
    const findings = await api("findings", {}, { filters: false });
    const open = (row) => {
      const activity = row.activity || row.from_activity;
      if (activity) drill({ activity }, `Cases with ${activity}`);
    };
    box.replaceChildren(el("p", { class: "caption" }, findings.scope),
      ...Object.values(findings.notes || {}).map((n) => el("p", { class: "not-measurable" }, n)),
      ...Object.entries(FINDINGS).map(([name, { title, columns, lead }]) => el("section", { class: "finding" },
        el("h2", {}, title), el("p", { class: "caption" }, lead), table(findings[name], { columns, onRow: open, detail: "evidence" }))));
  } catch (error) { showError(box, error); }
}

async function loadWhatIf() {
  const attributes = await attributesOf();
  const picks = $("#whatif-picks");
  if (!picks.childElementCount) {
    picks.replaceChildren(...attributes.activities.map((a) => el("label", {}, el("input", { type: "checkbox", value: a.value }), " ", a.value)));
  }
  $("#whatif-run").onclick = async () => {
    const remove = $$("#whatif-picks input:checked").map((i) => i.value);
    const box = $("#whatif");
    try {
      const result = await api("whatif", { remove });
      const show = (k, v) => (v === null || v === undefined ? "n/a" : /_s$/.test(k) ? duration(v) : typeof v === "number" ? v.toLocaleString("en", { maximumFractionDigits: 2 }) : String(v));
      const rows = Object.entries(result.figures).map(([k, v]) => ({ figure: k.replaceAll("_", " "), before: show(k, v.before), after: show(k, v.after) }));
      box.replaceChildren(table(rows), el("p", { class: "note" }, `${result.cases_affected} cases affected. ${result.assumption}`),
        ...Object.values(result.notes || {}).map((n) => el("p", { class: "not-measurable" }, n)));
    } catch (error) { showError(box, error); }
  };
}

function loadExports() {
  const link = (fmt, label) => el("li", {}, el("a", { href: `/api/export.${fmt}?${query()}`, download: true }, label));
  const sql = (figure) => el("li", {}, el("button", { type: "button", class: "quiet sql", "data-figure": figure }, `SQL of the ${figure}`));
  $("#exports").replaceChildren(link("csv", "Event log, CSV"), link("parquet", "Event log, Parquet"), link("xes", "Event log, XES"),
    link("bpmn", "BPMN of the filtered log"), ...["overview", "map_edges", "map_activities", "variants", "cases", "events"].map(sql));
  bindSql();
}

function bindSql() {
  for (const b of $$("button.sql")) {
    b.onclick = async () => {
      const body = $("#drawer-body");
      $("#drawer").hidden = false;
      try {
        const r = await fetch(`/api/sql?${query({ figure: b.dataset.figure })}`);
        const sql = await r.text();
        if (!r.ok) throw new Error(JSON.parse(sql).error);
        body.replaceChildren(el("h2", {}, `SQL of the ${b.dataset.figure}`), el("p", { class: "caption" }, "Runs in `mot sql` on this run's snapshot."), el("pre", { class: "sql" }, sql));
      } catch (error) { showError(body, error); }
    };
  }
}

// --- filters: the dialog ------------------------------------------------------------------------------------------------------

async function attributesOf() {
  if (!state.attributes) state.attributes = await api("attributes", {}, { filters: false });
  return state.attributes;
}

function selectOf(id, values, { multiple = false } = {}) {
  return el("select", { id, multiple }, values.map((v) => el("option", { value: v }, v)));
}

async function filterFields(kind) {
  const a = await attributesOf();
  const box = $("#filter-fields");
  const field = (label, input) => el("label", {}, label, " ", input);
  if (kind === "timeframe") {
    const [lo, hi] = [a.range?.first_ts, a.range?.last_ts].map((t) => (t ? String(t).slice(0, 10) : ""));
    box.replaceChildren(field("Since", el("input", { id: "f-since", type: "date", value: lo })), field("Until", el("input", { id: "f-until", type: "date", value: hi })),
      field("Cases", selectOf("f-timeframe", ["intersecting", "contained", "started", "completed"])));
  } else if (kind === "case" || kind === "event") {
    const names = Object.keys(a[kind] || {});
    const attr = selectOf("f-attr", names);
    const values = el("div", {});
    const fill = () => values.replaceChildren(field("Values", selectOf("f-values", (a[kind][attr.value] || []).map((v) => String(v.value)), { multiple: true })));
    attr.onchange = fill;
    box.replaceChildren(field("Attribute", attr), values);
    fill();
  } else if (kind === "variant") {
    box.replaceChildren(field("Variant rank", el("input", { id: "f-variant", type: "number", min: 1, value: 1 })));
  } else if (kind === "outcome") {
    box.replaceChildren(field("Outcomes", selectOf("f-values", (a.outcomes || []).map((v) => String(v.value)), { multiple: true })));
  } else if (kind === "with" || kind === "without") {
    box.replaceChildren(field("Activity", selectOf("f-activity", (a.activities || []).map((v) => v.value))));
  } else if (kind === "duration") {
    box.replaceChildren(field("At least", el("input", { id: "f-min", placeholder: "e.g. 2d, 3h, 90m" })), field("At most", el("input", { id: "f-max", placeholder: "e.g. 30d" })));
  }
}

function chosenFilter(kind) {
  const value = (id) => $(id)?.value;
  const many = (id) => [...($(id)?.selectedOptions || [])].map((o) => o.value);
  if (kind === "timeframe") return [["since", value("#f-since")], ["until", value("#f-until")], ["timeframe", value("#f-timeframe")]].filter(([, v]) => v);
  if (kind === "case" || kind === "event") return many("#f-values").map((v) => [`${kind}.${value("#f-attr")}`, v]);
  if (kind === "variant") return [["variant", value("#f-variant")]];
  if (kind === "outcome") return many("#f-values").map((v) => ["outcome", v]);
  if (kind === "with" || kind === "without") return [[kind, value("#f-activity")]];
  return [["min_duration", value("#f-min")], ["max_duration", value("#f-max")]].filter(([, v]) => v);
}

function bindFilterDialog() {
  const dialog = $("#filter-dialog"), kind = $("#filter-kind");
  $("#add-filter").onclick = async () => { $("#filter-error").textContent = ""; await filterFields(kind.value); dialog.showModal(); };
  kind.onchange = () => filterFields(kind.value);
  $("#filter-apply").onclick = async (e) => {
    e.preventDefault();
    const pairs = chosenFilter(kind.value);
    const replaced = kind.value === "timeframe" ? ["since", "until", "timeframe"] : kind.value === "duration" ? ["min_duration", "max_duration"] : [];
    const next = [...filterPairs().filter(([k]) => !replaced.includes(k)), ...pairs];
    try {  // ask the server first: a bad value is refused with its reason, and the view stays as it was
      const r = await fetch(`/api/overview?${new URLSearchParams([["process", setting("process")], ...next])}`);
      if (!r.ok) throw new Error((await r.json()).error);
      dialog.close();
      setFilters(next);
    } catch (error) { $("#filter-error").textContent = error.message; }
  };
  $("#clear-filters").onclick = () => setFilters([]);
  $("#share").onclick = () => navigator.clipboard?.writeText(location.href);
}

// --- tabs and start-up ----------------------------------------------------------------------------------------------------------

const LOADERS = { map: loadMap, variants: loadVariants, cases: loadCases, findings: loadFindings, whatif: loadWhatIf, export: loadExports };

function showTab(tab) {
  for (const b of $$("[data-tab]")) b.setAttribute("aria-selected", String(b.dataset.tab === tab));
  for (const s of $$(".tab")) s.hidden = s.id !== `tab-${tab}`;
  update({ tab });
  LOADERS[tab]();
}

async function refresh() {
  await loadOverview().catch((error) => showError($("#chips"), error));
  showTab(setting("tab", "map"));
}

async function start() {
  for (const b of $$("[data-tab]")) b.onclick = () => showTab(b.dataset.tab);
  $("#drawer-close").onclick = () => { $("#drawer").hidden = true; };
  $("#prev").onclick = () => { state.offset = Math.max(0, state.offset - state.limit); loadCases(); };
  $("#next").onclick = () => { state.offset += state.limit; loadCases(); };
  bindZoom();
  bindMapControls();
  bindFilterDialog();
  bindSql();
  syncControls();
  await loadProcesses();
  await refresh();
  document.body.dataset.ready = "true";  // for the browser tests: the first view is drawn
}

start();
