// The Bento emulator's live page: reads the inspection API (/_emulator/summary, /events, /requests), refreshes when
// /_emulator/stream says something changed, and renders one page of events at a time (never the whole log). Rows come
// without bodies; a body is fetched when its row is opened. Tabs share one stream (the tab holding a Web Lock opens it
// and tells the others on a BroadcastChannel); when the stream cannot connect, the page polls. ?live=0: no stream and
// no polling, one render (for headless captures such as --virtual-time-budget).
'use strict';

const PAGE_SIZE = 100;
const REFUSED_PAGE_SIZE = 50;
const TOP = 20;
const POLL_MS = 2000;
const LIVE = new URLSearchParams(location.search).get('live') !== '0';
const state = {
  email: '', type: '',
  before: null,      // cursor of the page shown: null is the newest page
  history: [],       // cursors of the newer pages, for "Newest"
  next: null,        // cursor of the next older page
  open: new Set(),   // event ids whose details are expanded
  seen: 0,           // highest event id rendered so far, to mark new rows
  busy: false, again: false,
};

const $ = (id) => document.getElementById(id);

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props || {});
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(child == null ? '' : String(child)));
  return node;
}

function time(iso) {
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleTimeString([], { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}

async function getJson(path) {
  const response = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store' });
  if (!response.ok) throw new Error(path + ': HTTP ' + response.status);
  return response.json();
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') q.set(k, v);
  return q.toString();
}

function renderCounts(list, items, key, filter) {
  list.replaceChildren(...items.map((item) => {
    const li = el('li', { title: 'Filter by this ' + key }, el('span', {}, item[key]), el('span', {}, item.count.toLocaleString()));
    li.dataset[key] = item[key];
    if (state[filter] === item[key]) li.classList.add('active');
    li.addEventListener('click', () => {
      const input = $('filter-' + filter);
      input.value = state[filter] === item[key] ? '' : item[key];
      applyFilters();
    });
    return li;
  }));
}

async function loadSummary() {
  const s = await getJson('/_emulator/summary?top_users=' + TOP + '&top_types=' + TOP);
  $('endpoint').textContent = s.endpoint;
  $('site').textContent = s.site_uuid;
  $('total-events').textContent = s.events.toLocaleString();
  $('total-users').textContent = s.users.toLocaleString();
  $('total-requests').textContent = s.requests.toLocaleString();
  $('total-refused').textContent = s.refused.toLocaleString();
  const evicted = $('evicted');
  const letGo = s.evicted + s.evicted_requests + s.types_let_go + s.users_let_go;
  evicted.hidden = letGo === 0 && s.recording_events;
  const mb = (n) => (n / 1048576).toFixed(0) + ' MB';
  evicted.textContent = (!s.recording_events ? 'event recording is off (counts only). ' : '')
    + (letGo === 0 ? '' : 'Let go to stay within ' + s.max_recorded_events.toLocaleString() + ' events and ' + mb(s.max_retained_bytes) + ': '
      + s.evicted.toLocaleString() + ' oldest events, ' + s.evicted_requests.toLocaleString() + ' oldest requests, the counts of '
      + s.types_let_go.toLocaleString() + ' rare types and ' + s.users_let_go.toLocaleString() + ' rare users (keeping ' + mb(s.retained_bytes) + ').');
  $('types-shown').textContent = s.types > TOP ? '(top ' + TOP + ' of ' + s.types.toLocaleString() + ')' : '';
  renderCounts($('by-type'), s.by_type, 'type', 'type');
  renderCounts($('by-user'), s.top_users, 'email', 'email');
  return s.version;
}

// An opened row's body, fetched once when it is opened.
async function loadBody(item, pre) {
  try {
    const found = await getJson('/_emulator/events/' + item.id);
    pre.textContent = JSON.stringify(found.event, null, 2);
  } catch (error) {
    pre.textContent = 'Could not load this event: ' + error.message;
  }
}

function eventRow(item) {
  const tr = el('tr', { className: 'event-row' });
  tr.dataset.id = item.id;
  tr.dataset.email = item.email;
  tr.dataset.type = item.type;
  if (item.id > state.seen && state.seen > 0) tr.classList.add('fresh');
  const pre = el('pre', {}, '');
  const details = el('details', {}, el('summary', {}, item.details_count !== undefined ? item.details_count + ' details' : 'event'), pre);
  details.open = state.open.has(item.id);
  if (details.open) loadBody(item, pre);
  details.addEventListener('toggle', () => {
    if (details.open) { state.open.add(item.id); if (!pre.textContent) loadBody(item, pre); } else state.open.delete(item.id);
  });
  tr.append(
    el('td', { className: 'time', title: item.received_at + (item.date ? '\nevent date ' + item.date : '') }, time(item.received_at)),
    el('td', { className: 'type' }, item.type),
    el('td', { className: 'email' }, item.email),
    el('td', {}, item.first_name ?? ''),
    el('td', {}, item.last_name ?? ''),
    el('td', {}, details),
    el('td', {}, '#' + item.request_id),
    el('td', { className: 'ua' }, item.user_agent ?? '(none)'));
  return tr;
}

async function loadEvents() {
  const page = await getJson('/_emulator/events?' + query({ email: state.email, type: state.type, before: state.before, limit: PAGE_SIZE, bodies: 'false' }));
  $('events').tBodies[0].replaceChildren(...page.events.map(eventRow));
  if (page.events.length) state.seen = Math.max(state.seen, page.events[0].id);
  state.next = page.next;
  $('older').disabled = page.next === null;
  $('newest').disabled = state.before === null;
  const filtered = state.email || state.type ? ' matching' : '';
  $('events-matched').textContent = '(' + page.matched.toLocaleString() + filtered + (page.matched > PAGE_SIZE ? ', ' + PAGE_SIZE + ' a page, newest first' : '') + ')';
  $('events-empty').hidden = page.events.length > 0;
}

async function loadRefused() {
  const page = await getJson('/_emulator/requests?' + query({ refused: 'true', limit: REFUSED_PAGE_SIZE }));
  $('refused').tBodies[0].replaceChildren(...page.requests.map((r) => {
    const tr = el('tr', { className: 'refused-row' },
      el('td', { className: 'time', title: r.received_at }, time(r.received_at)),
      el('td', {}, '#' + r.id),
      el('td', { className: 'status-code' }, r.status === 0 ? 'aborted' : r.status),
      el('td', { className: 'reason' }, r.reason),
      el('td', {}, r.first_bad_event_index === null ? '' : '#' + r.first_bad_event_index),
      el('td', { className: 'ua' }, r.user_agent ?? '(none)'));
    tr.dataset.status = r.status;
    return tr;
  }));
  $('refused-matched').textContent = '(' + page.matched.toLocaleString() + (page.matched > REFUSED_PAGE_SIZE ? ', newest ' + REFUSED_PAGE_SIZE : '') + ')';
  $('refused-empty').hidden = page.requests.length > 0;
}

// One refresh at a time; a change during a refresh asks for one more.
async function refresh() {
  if (state.busy) { state.again = true; return; }
  state.busy = true;
  try {
    const [version] = await Promise.all([loadSummary(), loadEvents(), loadRefused()]);
    $('error').hidden = true;
    // The log's version this render shows (tests wait for it before reading rows that would otherwise be re-rendered).
    if (!state.again) document.body.dataset.version = version;
  } catch (error) {
    $('error').textContent = 'Could not refresh: ' + error.message;
    $('error').hidden = false;
  } finally {
    state.busy = false;
    if (state.again) { state.again = false; refresh(); }
  }
}

function applyFilters() {
  state.email = $('filter-email').value.trim();
  state.type = $('filter-type').value.trim();
  state.before = null;
  state.history = [];
  refresh();
}

function debounce(fn, ms) {
  let timer;
  return () => { clearTimeout(timer); timer = setTimeout(fn, ms); };
}

function setStatus(text, className) {
  const status = $('live-status');
  status.textContent = text;
  status.className = 'status ' + className;
}

// A version already on screen needs no new render (a late message would only re-render the same rows).
function changed(version) {
  if (version !== document.body.dataset.version || state.busy) refresh();
}

// Polling, while no stream can connect: one refresh every POLL_MS, stopped as soon as a stream message arrives.
let pollTimer = null;
function startPolling() {
  if (pollTimer === null) pollTimer = setInterval(refresh, POLL_MS);
  setStatus('polling', 'offline');
}
function stopPolling() {
  if (pollTimer !== null) { clearInterval(pollTimer); pollTimer = null; }
}

// This tab's own stream: used by the tab that holds the lock (or by every tab where Web Locks are missing). Its state,
// 'live' or 'down', is told to the other tabs as it changes and to a tab that joins later when it asks ('hello').
let streamState = null;
function openStream(channel) {
  return new Promise(() => {
    const stream = new EventSource('/_emulator/stream');
    const tell = (message) => { if (channel) channel.postMessage(message); };
    stream.onopen = () => { streamState = 'live'; stopPolling(); setStatus('live', 'live'); tell('live'); };
    stream.onmessage = (message) => { stopPolling(); changed(message.data); tell('changed:' + message.data); };
    stream.onerror = () => { streamState = 'down'; startPolling(); tell('down'); };
  });
}

function connect() {
  if (!LIVE) { setStatus('static (?live=0)', 'offline'); return; }
  const shared = 'BroadcastChannel' in window && navigator.locks && navigator.locks.request;
  if (!shared) { openStream(null); return; }
  // One connection for every tab of this emulator: the lock holder streams, the others hear it on the channel.
  const channel = new BroadcastChannel('bento-emulator-' + location.host);
  channel.onmessage = (message) => {
    const data = String(message.data);
    if (data.startsWith('changed:')) { stopPolling(); changed(data.slice(8)); }
    else if (data === 'live') { stopPolling(); setStatus('live (shared)', 'live'); }
    else if (data === 'down') startPolling();
    else if (data === 'hello' && streamState) channel.postMessage(streamState);
  };
  setStatus('connecting…', 'offline');
  navigator.locks.request('bento-emulator-stream-' + location.host, () => openStream(channel));
  channel.postMessage('hello');
}

document.addEventListener('DOMContentLoaded', () => {
  const filter = debounce(applyFilters, 150);
  $('filter-email').addEventListener('input', filter);
  $('filter-type').addEventListener('input', filter);
  $('older').addEventListener('click', () => {
    if (state.next === null) return;
    state.history.push(state.before);
    state.before = state.next;
    refresh();
  });
  $('newest').addEventListener('click', () => { state.before = null; state.history = []; refresh(); });
  $('clear').addEventListener('click', async () => {
    await fetch('/_emulator/reset', { method: 'POST' });
    state.before = null; state.history = []; state.open.clear(); state.seen = 0;
    refresh();
  });
  refresh();
  connect();
});
