// Shared by every dashboard page: CSRF-carrying fetch, local times, and the live event stream.
'use strict';
(function () {
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.getAttribute('content') : '';

  function pad(n) {
    return String(n).padStart(2, '0');
  }

  // `short`: only the time of day when the date is today (hosts table columns stay narrow).
  function localTime(ms, short) {
    const d = new Date(ms);
    const day = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
    const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    if (short && d.toDateString() === new Date().toDateString()) return time;
    return `${day} ${time}`;
  }

  function localizeTimes(root) {
    for (const t of (root || document).querySelectorAll('time[datetime]')) {
      const ms = Date.parse(t.getAttribute('datetime'));
      if (!Number.isNaN(ms)) {
        t.textContent = localTime(ms, t.hasAttribute('data-short'));
        t.title = new Date(ms).toISOString();
      }
    }
  }

  function duration(seconds) {
    if (seconds <= 0) return 'expired';
    const s = Math.floor(seconds);
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = s % 60;
    if (d > 0) return `${d}d ${pad(h)}h ${pad(m)}m`;
    if (h > 0) return `${h}h ${pad(m)}m ${pad(sec)}s`;
    if (m > 0) return `${m}m ${pad(sec)}s`;
    return `${sec}s`;
  }

  async function api(method, url, body) {
    const headers = { Accept: 'application/json', 'X-CSRF-Token': csrf };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
    if (res.status === 401) {
      window.location.assign('/login?next=' + encodeURIComponent(window.location.pathname));
      throw new Error('signed out');
    }
    let data = null;
    try {
      data = await res.json();
    } catch {
      data = null;
    }
    if (!res.ok) throw new Error((data && data.error) || `HTTP ${res.status}`);
    return data;
  }

  // One EventSource per page; the dot in the top bar shows whether it is connected.
  function live(onChange, onOpen) {
    const dot = document.getElementById('live-status');
    if (dot) dot.hidden = false;
    const es = new EventSource('/api/live');
    es.addEventListener('hello', () => {
      if (dot) {
        dot.dataset.state = 'on';
        dot.title = 'Live updates: connected';
      }
      if (onOpen) onOpen();
    });
    es.addEventListener('grant', (ev) => {
      try {
        onChange(JSON.parse(ev.data));
      } catch (e) {
        console.error(e);
      }
    });
    es.addEventListener('error', () => {
      if (dot) {
        dot.dataset.state = 'off';
        dot.title = 'Live updates: reconnecting';
      }
    });
    return es;
  }

  window.spagate = { csrf, api, live, duration, localTime, localizeTimes };
  document.addEventListener('DOMContentLoaded', () => localizeTimes(document));
})();
