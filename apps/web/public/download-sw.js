/* global self */
/*
 * BackupX download helper (service worker, scope /__bx-download/).
 *
 * Backups can be many GiB, and the API only accepts the session token in a header, so a plain
 * link cannot download them and fetch() into a Blob would hold the whole file in memory. The
 * page hands this worker a one-time ticket {nonce, url, token}; navigating a hidden frame to
 * /__bx-download/<nonce> makes the worker fetch the artifact with the token and return the
 * streamed response, which the browser's own download manager writes to disk.
 * The outcome is reported on the BroadcastChannel "bx-download".
 */
const PREFIX = '/__bx-download/';
const TICKET_TTL_MS = 60_000;
const ALLOWED = /^\/api\/backup\/records\/\d+\/download$/;
const tickets = new Map();

self.addEventListener('install', () => {
  void self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener('message', (event) => {
  const data = event.data;
  const port = event.ports[0];
  if (!data || data.type !== 'bx-download-ticket' || typeof data.nonce !== 'string') return;
  if (typeof data.url !== 'string' || !ALLOWED.test(data.url) || typeof data.token !== 'string') {
    if (port) port.postMessage({ ok: false });
    return;
  }
  const now = Date.now();
  for (const [nonce, ticket] of tickets) if (ticket.expires < now) tickets.delete(nonce);
  tickets.set(data.nonce, { url: data.url, token: data.token, expires: now + TICKET_TTL_MS });
  if (port) port.postMessage({ ok: true });
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || !url.pathname.startsWith(PREFIX)) return;
  event.respondWith(serve(url.pathname.slice(PREFIX.length)));
});

const report = (message) => {
  const channel = new BroadcastChannel('bx-download');
  channel.postMessage(message);
  channel.close();
};

/** 204 ends the frame's navigation without a page or a download. */
const nothing = () => new Response(null, { status: 204 });

async function serve(nonce) {
  const ticket = tickets.get(nonce);
  tickets.delete(nonce);
  if (!ticket || ticket.expires < Date.now()) {
    report({ nonce, ok: false, status: 0, payload: null, text: 'The download ticket expired' });
    return nothing();
  }
  let upstream;
  try {
    upstream = await fetch(ticket.url, {
      headers: { Authorization: `Bearer ${ticket.token}` },
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (error) {
    report({ nonce, ok: false, status: 0, payload: null, text: String(error) });
    return nothing();
  }
  if (!upstream.ok) {
    const text = await upstream.text().catch(() => '');
    let payload = null;
    try {
      payload = JSON.parse(text);
    } catch {
      payload = null;
    }
    report({ nonce, ok: false, status: upstream.status, payload, text: text.slice(0, 200) });
    return nothing();
  }
  const headers = new Headers({ 'Cache-Control': 'no-store' });
  for (const name of ['Content-Type', 'Content-Disposition', 'Content-Length']) {
    const value = upstream.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  if (!headers.has('Content-Disposition')) headers.set('Content-Disposition', 'attachment');
  report({
    nonce,
    ok: true,
    status: upstream.status,
    size: Number(upstream.headers.get('Content-Length') ?? 0),
  });
  return new Response(upstream.body, { status: 200, headers });
}
