#!/usr/bin/env node
// Container/monitoring health check: exits 0 when the daemon's dashboard listener answers
// HTTP at all (an unauthenticated GET /api/health gets 401, which still proves the event loop
// and the listener are alive), 1 on a 5xx, a refused connection or a timeout.
// SPAGATE_HEALTH_URL overrides the address (default http://127.0.0.1:8080/api/health, the
// default DASHBOARD_LISTEN); SPAGATE_HEALTH_TIMEOUT_MS the timeout (default 4000).
const url = process.env.SPAGATE_HEALTH_URL || 'http://127.0.0.1:8080/api/health';
const timeoutMs = Number(process.env.SPAGATE_HEALTH_TIMEOUT_MS) || 4000;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
  await res.body?.cancel();
  if (res.status >= 500) {
    console.error(`unhealthy: ${url} answered ${res.status}`);
    process.exit(1);
  }
  process.exit(0);
} catch (e) {
  console.error(`unhealthy: ${url}: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
