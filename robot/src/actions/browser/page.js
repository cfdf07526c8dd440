// alq's in-page helpers. Rust sends this whole script with every call: pages navigate,
// so nothing could be installed once. arguments = [op, input, done?]; `done` exists only
// when the script runs through execute_async.
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

function box(el) {
  const r = el.getBoundingClientRect();
  return [r.left, r.top, r.width, r.height];
}

// Calls `next` after the next animation frame, or after 100 ms where frames are throttled
// (background tabs), so a probe can never hang.
function afterFrame(next) {
  let fired = false;
  const go = () => { if (!fired) { fired = true; next(); } };
  requestAnimationFrame(go);
  setTimeout(go, 100);
}

// Whether a person could use the element right now; `need` says how much is required.
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
  if (!need.stable) return done({ state: 'ok', count, el });
  const r = el.getBoundingClientRect();
  const cx = r.left + r.width / 2, cy = r.top + r.height / 2;
  if (cx < 0 || cy < 0 || cx > innerWidth || cy > innerHeight) {
    el.scrollIntoView({ block: 'center', inline: 'center', behavior: 'instant' });
  }
  // Stable: the same box now and after the next animation frame. The frame wait is only
  // needed while a CSS or Web Animation runs somewhere in the page: otherwise only a
  // script could move the box, and WebDriver computes the click point at dispatch and
  // reports a covered point, which the caller retries.
  const first = box(el);
  const animating = !document.getAnimations ||
    document.getAnimations().some((a) => a.playState === 'running');
  (animating ? afterFrame : (next) => next())(() => {
    if (!el.isConnected) return done({ state: 'none', count: 0 });
    const second = box(el);
    if (first.some((v, i) => Math.abs(v - second[i]) > 0.5)) return done({ state: 'moving', count });
    if (!need.hit) return done({ state: 'ok', count, el });
    const [x, y, w, h] = second;
    const px = Math.min(Math.max(x + w / 2, 0), innerWidth - 1);
    const py = Math.min(Math.max(y + h / 2, 0), innerHeight - 1);
    const hit = el.getRootNode().elementFromPoint(px, py);
    const label = hit && hit.closest && hit.closest('label');
    if (hit && (hit === el || el.contains(hit) || (label && label.control === el))) {
      return done({ state: 'ok', count, el });
    }
    return done({ state: 'covered', count, detail: describe(hit) });
  });
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

// Between the hit test of `probe` and WebDriver's dispatch of the click, the page can
// move another element over the action point (an animation, a late banner); on a busy
// machine that gap is hundreds of milliseconds. So the click's own pointer events are
// checked where they land, in the capture phase before any page handler (Playwright's
// hit-target interception): when the first press does not reach `el` (or a label of
// it), it and the rest of its sequence are stopped, and `guardResult` reports what was
// hit, so the caller waits and tries again instead of clicking the wrong element.
const GUARDED = ['pointerdown', 'mousedown', 'pointerup', 'mouseup', 'click', 'dblclick', 'auxclick', 'contextmenu'];

function guard(el) {
  const win = el.ownerDocument.defaultView;
  if (win.__alqGuard) win.__alqGuard.stop();
  const state = { verdict: null };
  const reaches = (e) => e.composedPath().some((n) => n === el || (n.tagName === 'LABEL' && n.control === el));
  const onEvent = (e) => {
    if (!e.isTrusted) return;
    if (state.verdict === null && (e.type === 'pointerdown' || e.type === 'mousedown')) {
      state.verdict = reaches(e) ? 'ok' : describe(e.composedPath()[0]);
    }
    if (state.verdict !== null && state.verdict !== 'ok') {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  };
  for (const type of GUARDED) win.addEventListener(type, onEvent, true);
  // A guard that nobody reads back (the click opened a dialog) must not outlive the step.
  const timer = setTimeout(() => state.stop(), 10000);
  state.stop = () => {
    clearTimeout(timer);
    for (const type of GUARDED) win.removeEventListener(type, onEvent, true);
    if (win.__alqGuard === state) delete win.__alqGuard;
  };
  win.__alqGuard = state;
  return true;
}

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
  case 'guard': return guard(input);
  case 'guardResult': return guardResult();
  default: throw new Error('unknown alq helper ' + op);
}
