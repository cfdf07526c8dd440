// alq's in-page helpers. Rust sends this whole script with every call (pages navigate,
// so nothing could be installed once); for `probe`, actionable.js comes first.
// arguments = [op, input, done?]; `done` exists only when the script runs through
// execute_async.
const [op, input, done] = arguments;

const norm = (s) => (s || '').replace(/\s+/g, ' ').trim();

// The document (or current frame) and every open shadow root below it, recursively.
function roots(root, out) {
  out.push(root);
  for (const el of root.querySelectorAll('*')) {
    if (el.shadowRoot) roots(el.shadowRoot, out);
  }
  return out;
}

function visible(el) {
  if (!el.isConnected) return false;
  if (el.checkVisibility && !el.checkVisibility({ visibilityProperty: true })) return false;
  for (const r of el.getClientRects()) {
    if (r.width > 0 && r.height > 0) return true;
  }
  return false;
}

function ownText(el) {
  const type = (el.getAttribute('type') || '').toLowerCase();
  if (el.tagName === 'INPUT' && ['button', 'submit', 'reset'].includes(type)) return el.value;
  return el.innerText === undefined ? el.textContent : el.innerText;
}

// The innermost visible elements whose whitespace-normalised text equals `want`.
function byText(want) {
  want = norm(want);
  const hits = [];
  for (const root of roots(document, [])) {
    for (const el of root.querySelectorAll('*')) {
      // textContent is cheap; innerText (layout) only for the few that may match.
      if (el.tagName !== 'INPUT' && !norm(el.textContent).includes(want)) continue;
      if (norm(ownText(el)) === want && visible(el)) hits.push(el);
    }
  }
  return hits.filter((el) => !hits.some((other) => other !== el && el.contains(other)));
}

function find(sel) {
  if (sel.kind === 'xpath') {
    const snap = document.evaluate(sel.value, document, null, XPathResult.ORDERED_NODE_SNAPSHOT_TYPE, null);
    const out = [];
    for (let i = 0; i < snap.snapshotLength; i++) {
      const node = snap.snapshotItem(i);
      if (node.nodeType === Node.ELEMENT_NODE) out.push(node);
    }
    return out;
  }
  if (sel.kind === 'text') return byText(sel.value);
  const css = sel.kind === 'id' ? '[id="' + CSS.escape(sel.value) + '"]' : sel.value;
  const out = [];
  for (const root of roots(document, [])) out.push(...root.querySelectorAll(css));
  return out;
}

function describe(el) {
  if (!el) return 'nothing';
  let s = '<' + el.tagName.toLowerCase();
  if (el.id) s += ' id="' + el.id + '"';
  const cls = el.getAttribute('class');
  if (cls) s += ' class="' + norm(cls) + '"';
  return s + '>';
}

function value(el, how) {
  if (how.attribute) return el.getAttribute(how.attribute);
  if (how.property) {
    const v = el[how.property];
    if (v === undefined || v === null || typeof v === 'number' || typeof v === 'boolean') return v ?? null;
    return typeof v === 'string' ? v : String(v);
  }
  return ownText(el).trim();
}

function table(el) {
  if (el.tagName !== 'TABLE') el = el.querySelector('table') || el.closest('table') || el;
  const cells = (row) => Array.from(row.cells || row.querySelectorAll('th,td'));
  let rows = Array.from(el.rows || el.querySelectorAll('tr'));
  let headRow = el.tHead && el.tHead.rows[0];
  if (!headRow) headRow = rows[0];
  const heads = headRow ? cells(headRow).map((c) => norm(c.innerText)) : [];
  const keys = [];
  heads.forEach((h, i) => {
    let key = h || 'column_' + (i + 1);
    for (let n = 2; keys.includes(key); n++) key = (h || 'column_' + (i + 1)) + '_' + n;
    keys.push(key);
  });
  rows = rows.filter((row) => row !== headRow && !(el.tHead && el.tHead.contains(row)));
  return rows.map((row) => {
    const obj = {};
    const cs = cells(row);
    keys.forEach((k, i) => { obj[k] = cs[i] ? norm(cs[i].innerText) : ''; });
    return obj;
  });
}

function extract(how) {
  const found = find(how.selector);
  if (!found.length) return { found: false };
  if (how.table) return { found: true, value: table(found[0]) };
  if (how.all) return { found: true, value: found.map((el) => value(el, how)) };
  return { found: true, value: value(found[0], how) };
}

function selectOptions(how) {
  const el = find(how.selector)[0];
  if (!el) return null;
  if (el.tagName !== 'SELECT') return { notSelect: describe(el) };
  return {
    selected: el.selectedIndex,
    options: Array.from(el.options).map((o) => ({ value: o.value, label: norm(o.label || o.text) })),
  };
}

function pageHasText(text) {
  const want = norm(text);
  const parts = [document.body ? document.body.innerText : ''];
  for (const root of roots(document, []).slice(1)) {
    for (const child of root.children) parts.push(child.innerText || '');
  }
  return parts.some((p) => norm(p).includes(want));
}

function readOnly(el) {
  if (el.readOnly === true) return true;
  return el.getAttribute('aria-readonly') === 'true';
}

// Whether a person could use the element right now; `need` says how much is required
// (see `Need` in locate.rs). Answers through `done` (the script runs asynchronously).
// What needs animation frames and scrolling is `act`, in actionable.js, which Rust
// sends only when `need.act`.
function probe(need) {
  let found;
  try {
    found = find(need.selector);
  } catch (e) {
    return done({ state: 'invalid', detail: String(e && e.message || e) });
  }
  const count = found.length;
  if (!count) return done({ state: 'none', count });
  const el = found[0];
  if (!need.visible) return done({ state: 'ok', count, el });
  if (!visible(el)) return done({ state: 'hidden', count });
  if (need.enabled && el.matches(':disabled')) return done({ state: 'disabled', count });
  if (need.editable && readOnly(el)) return done({ state: 'readonly', count });
  if (!need.act) return done({ state: 'ok', count, el });
  return act(el, count, need);
}

// Reads back and removes the guard `probe` set (actionable.js `guard`).
function guardResult() {
  const state = window.__alqGuard;
  if (!state) return { blocked: null };
  state.stop();
  return { blocked: state.verdict !== null && state.verdict !== 'ok' ? state.verdict : null };
}

switch (op) {
  case 'probe': return probe(input);
  case 'extract': return extract(input);
  case 'options': return selectOptions(input);
  case 'hasText': return pageHasText(input);
  case 'guardResult': return guardResult();
  default: throw new Error('unknown alq helper ' + op);
}
