// Overview: keep the counts and the uptime current without a reload.
'use strict';
(function () {
  const sg = window.spagate;
  const uptime = document.getElementById('ov-uptime');
  const started = uptime ? Date.parse(uptime.dataset.started) : NaN;

  function setText(id, v) {
    const el = document.getElementById(id);
    if (el) el.textContent = String(v);
  }

  function renderReasons(list) {
    const body = document.querySelector('#ov-reasons tbody');
    if (!body) return;
    body.replaceChildren();
    if (list.length === 0) {
      const tr = body.insertRow();
      tr.className = 'empty';
      const td = tr.insertCell();
      td.colSpan = 3;
      td.textContent = 'No packets in the last hour.';
      return;
    }
    for (const c of list) {
      const tr = body.insertRow();
      const badge = document.createElement('span');
      badge.className = 'badge badge-' + (c.outcome === 'accepted' ? 'ok' : 'bad');
      badge.textContent = c.outcome;
      tr.insertCell().append(badge);
      const reason = tr.insertCell();
      reason.textContent = c.label;
      reason.title = c.title;
      const n = tr.insertCell();
      n.className = 'num';
      n.textContent = String(c.count);
    }
  }

  let pending = false;
  async function refresh() {
    if (pending) return;
    pending = true;
    try {
      const o = await sg.api('GET', '/api/overview');
      setText('ov-live', o.live_grants);
      setText('ov-accepted', o.accepted);
      setText('ov-rejected', o.rejected);
      renderReasons(o.by_reason);
    } catch (e) {
      console.error(e);
    } finally {
      pending = false;
    }
  }

  sg.live(refresh, refresh);
  setInterval(refresh, 30000);
  if (uptime && !Number.isNaN(started)) {
    setInterval(() => {
      uptime.textContent = sg.duration((Date.now() - started) / 1000);
    }, 1000);
  }
})();
