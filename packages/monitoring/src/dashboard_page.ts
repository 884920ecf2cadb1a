/**
 * The live page: one HTML document with its CSS and script inline (no external asset, so it works
 * offline and behind any proxy). The script polls the JSON endpoint and renders with
 * `textContent` only: cache names, keys and node names come from the app and are never parsed as
 * HTML. A CSP with a per-response nonce forbids every other script, style or connection.
 */

const STYLE = `
:root { color-scheme: light dark; --muted: #888; --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 auto; padding: 1rem; max-width: 72rem; }
header { display: flex; align-items: baseline; gap: 1rem; }
h1 { font-size: 1.3rem; margin: 0; } h2 { font-size: 1.1rem; margin: 1.2rem 0 .4rem; }
h3 { font-size: .95rem; margin: .8rem 0 .3rem; color: var(--muted); }
#status { color: var(--muted); } #status.stale { color: var(--bad); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(9rem, 1fr)); gap: .5rem; }
.card { border: 1px solid #8884; border-radius: .4rem; padding: .4rem .6rem; }
.card .label { color: var(--muted); font-size: .8rem; }
.card .value { font-size: 1.25rem; font-variant-numeric: tabular-nums; }
.ok { color: var(--ok); } .bad { color: var(--bad); } .warn { color: var(--warn); }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .2rem .5rem; border-bottom: 1px solid #8883; }
td.num, th.num { text-align: right; }
.cache { border-top: 2px solid #8886; margin-top: 1rem; }
.empty { color: var(--muted); }
`

// Plain ES2017 for any browser; no string below is ever assigned to innerHTML.
const SCRIPT = `
(function () {
  'use strict';
  var root = document.documentElement;
  var dataUrl = root.getAttribute('data-source');
  var every = Number(root.getAttribute('data-refresh')) || 1000;
  var previous = null;
  var status = document.getElementById('status');

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (k === 'text') node.textContent = attrs[k];
      else if (k === 'className') node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }
  function int(n) { return n === undefined || n === null ? '–' : Math.round(n).toLocaleString('en-US'); }
  function pct(n) { return n === null || n === undefined || !isFinite(n) ? '–' : (n * 100).toFixed(1) + ' %'; }
  function ms(n) { return n === null || n === undefined ? '–' : n < 1 ? n.toFixed(3) + ' ms' : n.toFixed(1) + ' ms'; }
  function bytes(n) {
    if (n === undefined || n === null) return '–';
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(n) : n.toFixed(1)) + ' ' + units[i];
  }
  function card(stat, label, value, tone) {
    return el('div', { className: 'card' }, [
      el('div', { className: 'label', text: label }),
      el('div', { className: 'value' + (tone ? ' ' + tone : ''), 'data-stat': stat, text: value })
    ]);
  }
  function table(head, rows, numeric) {
    var thead = el('tr', null, head.map(function (h, i) { return el('th', { className: i >= numeric ? 'num' : '', text: h }); }));
    var body = rows.map(function (r) {
      return el('tr', null, r.map(function (v, i) { return el('td', { className: i >= numeric ? 'num' : '', text: v }); }));
    });
    return el('table', null, [el('thead', null, [thead]), el('tbody', null, body)]);
  }
  function find(list, name) {
    for (var i = 0; list && i < list.length; i++) if (list[i].name === name) return list[i];
    return null;
  }

  function renderCache(c, before) {
    // Live: the share of reads in the last poll interval; before any traffic, since start.
    var dReads = before ? c.reads.total - before.reads.total : 0;
    var live = function (now, was) { return dReads > 0 ? (now - (was || 0)) / dReads : (c.reads.total ? now / c.reads.total : null); };
    var tiers = Object.keys(c.reads.hitsByTier).sort();
    var section = el('section', { className: 'cache' });
    section.dataset.cache = c.name;
    section.appendChild(el('h2', { text: 'cache ' + c.name }));
    section.appendChild(el('div', { className: 'cards' }, [
      card('hitRate', 'hit rate (live)', pct(live(c.reads.hits + c.reads.stale, before && before.reads.hits + before.reads.stale))),
      card('hits', 'hits', int(c.reads.hits)),
      card('reads', 'reads', int(c.reads.total)),
      card('stale', 'stale served', int(c.reads.stale)),
      card('misses', 'misses', int(c.reads.misses)),
      card('breaker', 'circuit breaker', c.breakerOpen ? 'open' : 'closed', c.breakerOpen ? 'bad' : 'ok'),
      card('fallback', 'fallback', c.fallbackActive ? 'serving' : 'idle', c.fallbackActive ? 'warn' : 'ok'),
      card('factoryOk', 'factory calls', int(c.factory.ok)),
      card('factoryError', 'factory errors', int(c.factory.error), c.factory.error ? 'warn' : ''),
      card('errors', 'errors', int(c.errors), c.errors ? 'warn' : '')
    ].concat(c.l1 ? [
      card('l1Entries', 'L1 entries', int(c.l1.entries)),
      card('l1Bytes', 'L1 bytes', bytes(c.l1.bytes)),
      card('l1Evictions', 'L1 evictions', int(c.l1.evictions))
    ] : [])));
    section.appendChild(el('h3', { text: 'Hit rate per tier' }));
    section.appendChild(tiers.length ? table(['tier', 'hits', 'share (live)', 'share (since start)'], tiers.map(function (t) {
      var now = c.reads.hitsByTier[t];
      return [t, int(now), pct(live(now, before && before.reads.hitsByTier[t])), pct(c.reads.total ? now / c.reads.total : null)];
    }), 1) : el('p', { className: 'empty', text: 'no hits yet' }));
    section.appendChild(el('h3', { text: 'Latency since start' }));
    section.appendChild(c.latency.length ? table(['operation', 'calls', 'p50', 'p99'], c.latency.map(function (l) {
      return [l.op, int(l.count), ms(l.p50Ms), ms(l.p99Ms)];
    }), 1) : el('p', { className: 'empty', text: 'no calls yet' }));
    if (c.redis.length) {
      section.appendChild(el('h3', { text: 'Redis' }));
      section.appendChild(table(['node', 'up', 'memory', 'maxmemory', 'memory %', 'clients', 'maxclients'], c.redis.map(function (r) {
        return [r.node, r.up ? 'up' : 'down', bytes(r.memoryUsedBytes), r.memoryMaxBytes ? bytes(r.memoryMaxBytes) : 'no limit',
          r.memoryMaxBytes ? pct(r.memoryUsedBytes / r.memoryMaxBytes) : '–', int(r.clientsConnected), int(r.clientsMax)];
      }), 2));
    }
    return section;
  }

  function render(data) {
    var caches = document.getElementById('caches');
    caches.replaceChildren.apply(caches, data.caches.length ? data.caches.map(function (c) {
      return renderCache(c, previous && find(previous.caches, c.name));
    }) : [el('p', { className: 'empty', text: 'no cache is watched by cacheMetrics on this registry' })]);
    var win = document.getElementById('window');
    win.replaceChildren.apply(win, data.window ? [el('div', { className: 'cards' }, [
      card('windowOps', 'operations', int(data.window.ops)),
      card('windowHitRate', 'hit rate', pct(data.window.hitRate)),
      card('windowP50', 'p50', ms(data.window.p50Ms)),
      card('windowP99', 'p99', ms(data.window.p99Ms))
    ])] : [el('p', { className: 'empty', text: 'pass an operationLog to see the rolling window' })]);
    var slow = document.getElementById('slow');
    slow.replaceChildren.apply(slow, data.slow.length ? [table(['at', 'operation', 'group', 'tier', 'key', 'duration', 'failed'], data.slow.map(function (s) {
      return [new Date(s.at).toISOString().slice(11, 23), s.operation, s.group, s.tier, s.key === undefined ? '' : s.key, ms(s.durationMs), s.failed ? 'yes' : ''];
    }), 5)] : [el('p', { className: 'empty', text: 'no slow operation' })]);
    previous = data;
  }

  function poll() {
    fetch(dataUrl, { cache: 'no-store', headers: { accept: 'application/json' } })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(function (data) {
        render(data);
        status.className = '';
        status.textContent = 'updated ' + new Date(data.at).toLocaleTimeString();
        root.setAttribute('data-updates', String(Number(root.getAttribute('data-updates') || 0) + 1));
      })
      .catch(function (error) { status.className = 'stale'; status.textContent = 'not updating: ' + error.message; })
      .then(function () { setTimeout(poll, every); });
  }
  poll();
})();
`

/** Escapes text for an HTML attribute value or element content. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  )
}

/** The page, polling `dataUrl` (relative to the page) every `refreshMs`. */
export function dashboardPage(dataUrl: string, refreshMs: number, nonce: string, title: string): string {
  const attr = escapeHtml
  return `<!doctype html>
<html lang="en" data-source="${attr(dataUrl)}" data-refresh="${refreshMs}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style nonce="${attr(nonce)}">${STYLE}</style>
</head>
<body>
<header><h1>${escapeHtml(title)}</h1><span id="status">loading…</span></header>
<main id="caches"></main>
<h2>Rolling window (operation log)</h2>
<section id="window"></section>
<h2>Slow operations</h2>
<section id="slow"></section>
<script nonce="${attr(nonce)}">${SCRIPT}</script>
</body>
</html>
`
}

/** The page's Content-Security-Policy: only its own inline script and style, only same-origin fetches. */
export function dashboardPolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "img-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ')
}
