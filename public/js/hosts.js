// Active hosts: live rows from /api/live, countdowns, client-side sort/filter/search,
// revoke and extend through the JSON API (the forms still work with scripts off).
'use strict';
(function () {
  const sg = window.spagate;
  const table = document.getElementById('hosts');
  const body = document.getElementById('hosts-body');
  const empty = document.getElementById('hosts-empty');
  const countEl = document.getElementById('host-count');
  const statusEl = document.getElementById('host-status');
  const search = document.getElementById('host-search');
  const modeSel = document.getElementById('host-mode');
  const selectAll = document.getElementById('select-all');
  const bulkForm = document.getElementById('bulk-form');
  const choices = document.getElementById('extend-choices');
  const MODE_LABELS = { forward_all: 'FORWARD_ALL', nat: 'NAT', access: 'ACCESS' };
  // Countdowns use the server's clock: the offset is fixed at page load.
  const skew = Number(table.dataset.serverNow) - Date.now();
  let sortKey = 'expires';
  let sortDir = 1;

  function status(text, kind) {
    statusEl.textContent = text;
    statusEl.dataset.kind = kind || 'ok';
  }

  function fmtCount(n) {
    return n === null || n === undefined ? '—' : Number(n).toLocaleString('en-US');
  }

  function fmtBytes(n) {
    if (n === null || n === undefined) return '—';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let v = n;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i += 1;
    }
    return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
  }

  function cell(tr, cls, text) {
    const td = tr.insertCell();
    if (cls) td.className = cls;
    if (text !== undefined) td.textContent = text;
    return td;
  }

  function timeEl(iso) {
    const t = document.createElement('time');
    t.setAttribute('datetime', iso);
    t.setAttribute('data-short', '');
    t.textContent = sg.localTime(Date.parse(iso), true);
    t.title = iso;
    return t;
  }

  function hidden(name, value) {
    const i = document.createElement('input');
    i.type = 'hidden';
    i.name = name;
    i.value = value;
    return i;
  }

  function button(text, cls) {
    const b = document.createElement('button');
    b.type = 'submit';
    b.className = cls;
    b.textContent = text;
    return b;
  }

  // Built with DOM calls and textContent only: usernames and hostnames are untrusted.
  function buildRow(g) {
    const tr = document.createElement('tr');
    const set = (k, v) => (tr.dataset[k] = v === null || v === undefined ? '' : String(v));
    set('id', g.id);
    set('ip', g.ip);
    set('mac', g.mac || '—');
    set('hostname', g.hostname || '—');
    set('user', g.user);
    set('stanza', g.stanza);
    set('mode', g.mode);
    set('granted', Date.parse(g.granted_at));
    set('expires', Date.parse(g.expires_at));
    set('packets', g.packets || 0);
    set('bytes', g.bytes || 0);

    const check = document.createElement('input');
    check.type = 'checkbox';
    check.name = 'ids';
    check.value = g.id;
    check.setAttribute('form', 'bulk-form');
    check.setAttribute('aria-label', 'Select ' + g.ip);
    cell(tr, 'check').append(check);
    cell(tr, 'mono c-ip', g.ip);
    cell(tr, 'mono c-mac', g.mac || '—');
    cell(tr, 'c-hostname', g.hostname || '—');
    cell(tr, 'c-user', g.user);
    cell(tr, 'c-stanza', g.stanza);
    const mode = cell(tr, 'c-mode');
    const badge = document.createElement('span');
    badge.className = 'badge badge-mode';
    badge.title = g.target;
    badge.textContent = MODE_LABELS[g.mode] || g.mode;
    const sub = document.createElement('div');
    sub.className = 'sub';
    sub.textContent = g.target;
    mode.append(badge, sub);
    cell(tr, 'c-granted').append(timeEl(g.granted_at));
    cell(tr, 'c-expires').append(timeEl(g.expires_at));
    cell(tr, 'c-left countdown', '');
    cell(tr, 'num c-packets', fmtCount(g.packets));
    cell(tr, 'num c-bytes', fmtBytes(g.bytes));

    const actions = cell(tr, 'actions');
    const ext = document.createElement('form');
    ext.method = 'post';
    ext.action = `/hosts/${encodeURIComponent(g.id)}/extend`;
    ext.className = 'inline js-extend';
    const sel = document.createElement('select');
    sel.name = 'seconds';
    sel.setAttribute('aria-label', 'Extend by');
    sel.append(choices.content.cloneNode(true));
    ext.append(hidden('_csrf', sg.csrf), sel, button('Extend', 'btn btn-small'));
    const rev = document.createElement('form');
    rev.method = 'post';
    rev.action = `/hosts/${encodeURIComponent(g.id)}/revoke`;
    rev.className = 'inline js-revoke';
    rev.append(hidden('_csrf', sg.csrf), button('Revoke', 'btn btn-small btn-danger'));
    actions.append(ext, rev);
    tick(tr, Date.now() + skew);
    return tr;
  }

  function rowFor(id) {
    for (const tr of body.rows) if (tr.dataset.id === id) return tr;
    return null;
  }

  function upsert(g, flashRow) {
    const fresh = buildRow(g);
    const old = rowFor(g.id);
    if (old) {
      const box = old.querySelector('input[type=checkbox]');
      if (box && box.checked) fresh.querySelector('input[type=checkbox]').checked = true;
      old.replaceWith(fresh);
    } else {
      body.append(fresh);
    }
    if (flashRow) {
      fresh.classList.add('row-new');
      setTimeout(() => fresh.classList.remove('row-new'), 2500);
    }
  }

  function remove(id) {
    const tr = rowFor(id);
    if (tr) tr.remove();
  }

  function tick(tr, now) {
    const left = (Number(tr.dataset.expires) - now) / 1000;
    const c = tr.querySelector('.countdown');
    if (c) c.textContent = sg.duration(left);
    tr.classList.toggle('row-soon', left > 0 && left < 120);
    tr.classList.toggle('row-expired', left <= 0);
  }

  function tickAll() {
    const now = Date.now() + skew;
    for (const tr of body.rows) tick(tr, now);
  }

  function sortValue(tr, key) {
    const v = tr.dataset[key] || '';
    if (key === 'granted' || key === 'expires' || key === 'packets' || key === 'bytes') return Number(v);
    if (key === 'ip') return v.split('.').reduce((a, o) => a * 256 + Number(o), 0);
    return v.toLowerCase();
  }

  function applyView() {
    const rows = [...body.rows];
    rows.sort((a, b) => {
      const x = sortValue(a, sortKey);
      const y = sortValue(b, sortKey);
      return (x < y ? -1 : x > y ? 1 : 0) * sortDir;
    });
    body.append(...rows);
    const q = search.value.trim().toLowerCase();
    const m = modeSel.value;
    let shown = 0;
    for (const tr of rows) {
      const text = [tr.dataset.ip, tr.dataset.mac, tr.dataset.hostname, tr.dataset.user, tr.dataset.stanza]
        .join(' ')
        .toLowerCase();
      const visible = (!q || text.includes(q)) && (!m || tr.dataset.mode === m);
      tr.hidden = !visible;
      if (visible) shown += 1;
    }
    countEl.textContent = rows.length === shown ? String(rows.length) : `${shown} / ${rows.length}`;
    empty.hidden = rows.length > 0;
    for (const b of document.querySelectorAll('button.sort')) {
      if (b.dataset.sort === sortKey) b.setAttribute('aria-sort', sortDir > 0 ? 'ascending' : 'descending');
      else b.removeAttribute('aria-sort');
    }
  }

  async function resync() {
    try {
      const { grants } = await sg.api('GET', '/api/grants');
      const ids = new Set(grants.map((g) => g.id));
      for (const tr of [...body.rows]) if (!ids.has(tr.dataset.id)) tr.remove();
      for (const g of grants) upsert(g, false);
      applyView();
    } catch (e) {
      status('Could not refresh: ' + e.message, 'error');
    }
  }

  function onChange(change) {
    const g = change.grant;
    if (change.type === 'granted' || change.type === 'extended') {
      upsert(g, change.type === 'granted');
      if (change.type === 'granted') status(`New grant: ${g.ip} (${g.user})`);
    } else {
      remove(g.id);
      status(`${g.ip} (${g.user}): ${change.type}`);
    }
    applyView();
  }

  body.addEventListener('submit', async (ev) => {
    const form = ev.target;
    if (!(form instanceof HTMLFormElement)) return;
    const tr = form.closest('tr');
    if (!tr) return;
    ev.preventDefault();
    const id = tr.dataset.id;
    try {
      if (form.classList.contains('js-revoke')) {
        await sg.api('POST', `/api/grants/${encodeURIComponent(id)}/revoke`);
        remove(id);
        status(`Revoked ${tr.dataset.ip}.`);
      } else if (form.classList.contains('js-extend')) {
        const seconds = Number(form.elements.namedItem('seconds').value);
        const { grant } = await sg.api('POST', `/api/grants/${encodeURIComponent(id)}/extend`, { seconds });
        upsert(grant, false);
        status(`Extended ${grant.ip} until ${sg.localTime(Date.parse(grant.expires_at))}.`);
      }
      applyView();
    } catch (e) {
      status(e.message, 'error');
    }
  });

  bulkForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const ids = [...body.querySelectorAll('input[name=ids]:checked')]
      .filter((b) => !b.closest('tr').hidden)
      .map((b) => b.value);
    if (ids.length === 0) {
      status('Select hosts to revoke first.', 'error');
      return;
    }
    if (!window.confirm(`Revoke access for ${ids.length} host(s)?`)) return;
    let n = 0;
    for (const id of ids) {
      try {
        await sg.api('POST', `/api/grants/${encodeURIComponent(id)}/revoke`);
        remove(id);
        n += 1;
      } catch (e) {
        status(e.message, 'error');
      }
    }
    selectAll.checked = false;
    applyView();
    status(`Revoked ${n} of ${ids.length} selected.`);
  });

  selectAll.addEventListener('change', () => {
    for (const b of body.querySelectorAll('input[name=ids]'))
      if (!b.closest('tr').hidden) b.checked = selectAll.checked;
  });
  for (const b of document.querySelectorAll('button.sort')) {
    b.addEventListener('click', () => {
      if (sortKey === b.dataset.sort) sortDir = -sortDir;
      else {
        sortKey = b.dataset.sort;
        sortDir = 1;
      }
      applyView();
    });
  }
  search.addEventListener('input', applyView);
  modeSel.addEventListener('change', applyView);

  tickAll();
  applyView();
  setInterval(tickAll, 1000);
  // Counters change with traffic, not with grant events: refresh them now and then.
  setInterval(resync, 15000);
  sg.live(onChange, resync);
})();
