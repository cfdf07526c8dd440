// alq's actionability check, the part of the in-page helpers that needs animation frames
// and scrolling. Rust sends it before page.js when an action needs it: page.js `probe`
// finds the element and checks that it is visible, enabled and editable, then `act`
// here waits until it is stable over two animation frames, scrolled so its action point
// is inside the visible part of every scroll container, and receiving events there.
// docs/workflows.md, "Selectors and waiting", is the contract this implements.

// The parent in the flat tree: the slot an element is shown in, its parent, or the host
// of its shadow root.
function parentOf(e) {
  return e.assignedSlot || e.parentElement || (e.parentNode && e.parentNode.host) || null;
}

// Whether a box with this style holds absolutely (or, `fixedToo`, fixed) positioned
// descendants instead of the viewport holding them.
function holdsPositioned(s, fixedToo) {
  if (!fixedToo && s.position !== 'static') return true;
  return s.transform !== 'none' || s.perspective !== 'none' || s.filter !== 'none' ||
    /paint|layout|strict|content/.test(s.contain) || /transform|perspective|filter/.test(s.willChange);
}

// The next box up whose overflow can cut `e` off: its containing block. An absolutely
// positioned element escapes the boxes between it and its positioned ancestor, a fixed
// one every box (it is held by the viewport) unless a transform holds it.
function containerOf(e, s) {
  if (s.position !== 'absolute' && s.position !== 'fixed') return parentOf(e);
  for (let a = parentOf(e); a; a = parentOf(a)) {
    if (holdsPositioned(getComputedStyle(a), s.position === 'fixed')) return a;
  }
  return null;
}

const rect = (l, t, r, b) => ({ l, t, r, b });
const empty = (v) => !(v.r > v.l && v.b > v.t);
const area = (v) => (empty(v) ? 0 : (v.r - v.l) * (v.b - v.t));
const meet = (a, b) => rect(Math.max(a.l, b.l), Math.max(a.t, b.t), Math.min(a.r, b.r), Math.min(a.b, b.b));

// What the viewport shows of the document, without its scrollbars.
function viewport() {
  const v = window.visualViewport;
  if (v) return rect(0, 0, v.width, v.height);
  const d = document.documentElement;
  return rect(0, 0, d.clientWidth || innerWidth, d.clientHeight || innerHeight);
}

// The region where `el` can be seen: the client box (inside borders and scrollbars) of
// every box that clips it, in both directions, and the viewport. `by` is the box that
// first cut the element's own box away entirely, for the message.
function clipRegion(el) {
  const own = el.getBoundingClientRect();
  const box = rect(own.left, own.top, own.right, own.bottom);
  let region = viewport();
  let by = null;
  const html = document.documentElement;
  // The body's overflow belongs to the viewport unless the root element has its own.
  const bodyIsViewport = getComputedStyle(html).overflow === 'visible';
  let e = el, s = getComputedStyle(el);
  for (let a = containerOf(e, s); a; e = a, s = getComputedStyle(a), a = containerOf(e, s)) {
    if (a === html || (a === document.body && bodyIsViewport)) continue;
    const as = getComputedStyle(a);
    if (as.display === 'contents') continue;
    const cutX = as.overflowX !== 'visible', cutY = as.overflowY !== 'visible';
    if (!cutX && !cutY) continue;
    const ar = a.getBoundingClientRect();
    const x = ar.left + a.clientLeft, y = ar.top + a.clientTop;
    const client = rect(cutX ? x : -Infinity, cutY ? y : -Infinity,
      cutX ? x + a.clientWidth : Infinity, cutY ? y + a.clientHeight : Infinity);
    region = meet(region, client);
    if (!by && empty(meet(box, region))) by = a;
  }
  return { region, by };
}

// Whether the whole box of `el` can be seen (then scrolling would only move the page).
function wholeInView(el) {
  const r = el.getBoundingClientRect();
  const { region } = clipRegion(el);
  return r.left >= region.l - 0.5 && r.top >= region.t - 0.5 &&
    r.right <= region.r + 0.5 && r.bottom <= region.b + 0.5;
}

// Whether a pointer at the point where `hit` is would reach `el`: `hit` is `el`, inside
// it (in the flat tree, so through slots), or inside a label of it.
function reaches(el, hit) {
  for (let n = hit; n; n = parentOf(n)) {
    if (n === el) return true;
    if (n.tagName === 'LABEL' && n.control === el) return true;
  }
  return false;
}

// The frames between this document and the top one, each with the offset of its content
// in its parent's viewport; null inside a cross-origin frame, which a script cannot see
// out of.
function frameChain() {
  const chain = [];
  for (let w = window; w !== w.top; w = w.parent) {
    let fe = null;
    try { fe = w.frameElement; } catch (e) { fe = null; }
    if (!fe) return null;
    const r = fe.getBoundingClientRect();
    const s = fe.ownerDocument.defaultView.getComputedStyle(fe);
    chain.push({ fe, dx: r.left + fe.clientLeft + parseFloat(s.paddingLeft),
      dy: r.top + fe.clientTop + parseFloat(s.paddingTop) });
  }
  return chain;
}

// Where a person would act on `el` now: the centre of the largest visible part of its
// boxes (a link wrapped over two lines has two), checked with a hit test when `hit`.
// `point` is in the top document's viewport, rounded to whole pixels as WebDriver's
// pointer takes them, or null inside a cross-origin frame.
function aim(el, hit) {
  const { region, by } = clipRegion(el);
  let best = null;
  for (const r of el.getClientRects()) {
    const part = meet(rect(r.left, r.top, r.right, r.bottom), region);
    if (!best || area(part) > area(best)) best = part;
  }
  if (!best || empty(best)) {
    return { state: 'clipped', detail: by ? describe(by) : null };
  }
  const chain = frameChain();
  let ox = 0, oy = 0;
  for (const f of chain || []) { ox += f.dx; oy += f.dy; }
  const inside = (v, lo, hi) => Math.min(Math.max(v, lo), Math.max(lo, hi - 0.01));
  const x = inside(Math.floor((best.l + best.r) / 2 + ox) - ox, best.l, best.r);
  const y = inside(Math.floor((best.t + best.b) / 2 + oy) - oy, best.t, best.b);
  const point = chain ? [Math.round(x + ox), Math.round(y + oy)] : null;
  if (!hit) return { state: 'ok', point };
  const found = el.getRootNode().elementFromPoint(x, y);
  if (!reaches(el, found)) return { state: 'covered', detail: describe(found) };
  // The point must also reach the frame in every document above this one.
  let px = x, py = y;
  for (const f of chain || []) {
    px += f.dx; py += f.dy;
    const above = f.fe.getRootNode().elementFromPoint(px, py);
    if (above !== f.fe) {
      return above ? { state: 'covered', detail: describe(above) }
        : { state: 'clipped', detail: describe(f.fe) };
    }
  }
  return { state: 'ok', point };
}

function box(el) {
  const r = el.getBoundingClientRect();
  return [r.left, r.top, r.width, r.height];
}

const sameBox = (a, b) => a.every((v, i) => v === b[i]);

// Calls `next(first, second)` with the box of `el` sampled in two consecutive animation
// frames that both began after this call. The first frame that runs can be the one
// already being drawn when the check started (its timestamp is earlier): it is skipped.
// A page that draws no frames (a tab in the background) animates nothing, and then two
// samples 100 ms apart decide.
function twoFrames(el, next) {
  const started = performance.now();
  let frames = 0, first = null, over = false;
  const end = (a, b) => {
    if (over) return;
    over = true;
    clearTimeout(timer);
    next(a, b);
  };
  const tick = (time) => {
    if (over) return;
    frames += 1;
    if (first !== null) return end(first, box(el));
    if (time > started) first = box(el);
    requestAnimationFrame(tick);
  };
  const timer = setTimeout(() => {
    if (frames > 0) return;
    over = true;
    const a = box(el);
    setTimeout(() => next(a, box(el)), 100);
  }, 500);
  requestAnimationFrame(tick);
}

// Calls `next(before)` in the next animation frame with the box sampled now, or after
// 100 ms where no frames are drawn.
function oneFrame(el, next) {
  const before = box(el);
  let over = false;
  const go = () => { if (!over) { over = true; next(before); } };
  requestAnimationFrame(go);
  setTimeout(go, 500);
}

// Gives `el` the keyboard focus without scrolling (it is already where it should be), and
// puts the caret at the end of its text when the focus moves to it, as WebDriver does.
function focusOn(el) {
  const root = el.getRootNode();
  const host = (n) => n === el || (el.isContentEditable && n && n.contains(el));
  if (host(root.activeElement)) return true;
  el.focus({ preventScroll: true });
  if (!host(root.activeElement)) return false;
  if (typeof el.value === 'string' && typeof el.setSelectionRange === 'function') {
    // Some input types (email, number) have no selection; their caret is left alone.
    try { el.setSelectionRange(el.value.length, el.value.length); } catch (e) { /* none */ }
  } else if (el.isContentEditable) {
    const range = el.ownerDocument.createRange();
    range.selectNodeContents(el);
    range.collapse(false);
    const sel = el.ownerDocument.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }
  return true;
}

// The alignments tried when the action point is covered or cut off where the element is.
const ALIGNMENTS = ['center', 'end', 'start', 'nearest'];

// The rest of `probe` (page.js) for an element that is there, visible, enabled and
// editable as needed: stable, in view and receiving events. Answers through `done`.
function act(el, count, need) {
  const scroll = (align) => el.scrollIntoView({ block: align, inline: align, behavior: 'instant' });
  const finish = (at) => {
    if (need.guard) guard(el);
    if (need.focus && !focusOn(el)) return done({ state: 'unfocusable', count });
    return done({ state: 'ok', count, el, point: at.point });
  };
  if (!wholeInView(el)) scroll('center');
  twoFrames(el, (first, second) => {
    if (!el.isConnected) return done({ state: 'none', count: 0 });
    if (!sameBox(first, second)) return done({ state: 'moving', count });
    let at = aim(el, need.hit);
    if (at.state === 'ok') return finish(at);
    // Covered or cut off here: another alignment in the scroll containers may show it.
    let failed = at;
    for (const align of ALIGNMENTS) {
      scroll(align);
      at = aim(el, need.hit);
      if (at.state === 'ok') {
        // The page may answer a scroll (a sticky header, content loaded on scroll): its
        // scroll handlers run before the next frame's callbacks, so look again there.
        return oneFrame(el, (before) => {
          if (!el.isConnected) return done({ state: 'none', count: 0 });
          if (!sameBox(before, box(el))) return done({ state: 'moving', count });
          const again = aim(el, need.hit);
          return again.state === 'ok' ? finish(again) : done({ ...again, count });
        });
      }
      // Covered says more than cut off: the element can be shown, something is on it.
      if (failed.state !== 'covered') failed = at;
    }
    return done({ ...failed, count });
  });
}

// Between the hit test of `probe` and the press WebDriver sends, the page can move
// another element over the action point (an animation, a late banner); on a busy
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
  const lands = (e) => e.composedPath().some((n) => n === el || (n.tagName === 'LABEL' && n.control === el));
  const onEvent = (e) => {
    if (!e.isTrusted) return;
    if (state.verdict === null && (e.type === 'pointerdown' || e.type === 'mousedown')) {
      state.verdict = lands(e) ? 'ok' : describe(e.composedPath()[0]);
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
