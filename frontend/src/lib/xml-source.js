/**
 * Shared helpers for loading diagram XML into the browser modelers/viewers.
 *
 * The XML comes from (in this order):
 *   1. an inline <script type="application/xml" id="..."> element, or
 *   2. the URL in the container's `data-xml-url` attribute (fetched same-origin).
 *
 * Inline XML may be written raw (`{{ xml|safe }}`) or HTML-escaped by Jinja's
 * autoescape (`{{ xml }}`): text starting with "&lt;" is entity-decoded once.
 */
import { germanImportMessage } from './import-messages.js';

/** Decode HTML entities (only used for autoescaped inline XML). */
function decodeEntities(text) {
  const doc = new DOMParser().parseFromString(
    '<!doctype html><textarea>' + text + '</textarea>',
    'text/html'
  );
  return doc.querySelector('textarea').value;
}

/** Returns the inline XML of <script id=scriptId>, or null. */
export function readInlineXml(scriptId) {
  const el = document.getElementById(scriptId);
  if (!el) return null;
  let text = (el.textContent || '').trim();
  if (!text) return null;
  if (text.startsWith('&lt;')) text = decodeEntities(text).trim();
  return text;
}

/**
 * Resolve the XML for `container`: inline script first, then data-xml-url.
 * Returns null when neither is present.
 */
export async function loadXml(container, scriptId) {
  const inline = readInlineXml(scriptId);
  if (inline) return inline;

  const url = container && container.dataset ? container.dataset.xmlUrl : null;
  if (!url) return null;

  const res = await fetch(url, {
    credentials: 'same-origin',
    headers: { Accept: 'application/xml, text/xml;q=0.9, */*;q=0.1' }
  });
  if (!res.ok) {
    throw new Error('XML konnte nicht geladen werden (' + res.status + ' ' + res.statusText + '): ' + url);
  }
  return res.text();
}

/** Read a JSON <script type="application/json" id=...> element, or return fallback. */
export function readJsonScript(id, fallback) {
  const el = document.getElementById(id);
  if (!el) return fallback;
  const text = (el.textContent || '').trim();
  if (!text) return fallback;
  try {
    return JSON.parse(text.startsWith('&') ? decodeEntities(text) : text);
  } catch (err) {
    console.error('[foerderportal] ungültiges JSON in #' + id, err);
    return fallback;
  }
}

/** Show a KERN alert with `message` (in German) above the container (used on import errors). */
export function showLoadError(container, message) {
  if (!container) return;
  const alert = document.createElement('div');
  alert.className = 'kern-alert kern-alert--danger fp-diagram-error';
  alert.setAttribute('role', 'alert');
  const header = document.createElement('div');
  header.className = 'kern-alert__header';
  const icon = document.createElement('span');
  icon.className = 'kern-icon kern-icon--danger';
  icon.setAttribute('aria-hidden', 'true');
  const title = document.createElement('span');
  title.className = 'kern-title';
  title.textContent = 'Diagramm konnte nicht angezeigt werden';
  header.append(icon, title);
  const body = document.createElement('div');
  body.className = 'kern-alert__body';
  const p = document.createElement('p');
  p.className = 'kern-body';
  p.textContent = germanImportMessage(message);
  body.append(p);
  alert.append(header, body);
  container.parentNode.insertBefore(alert, container);
}

/** Fire a DOM CustomEvent on `el` (bubbles), e.g. "foerder:ready". */
export function emit(el, name, detail) {
  if (!el) return;
  el.dispatchEvent(new CustomEvent(name, { bubbles: true, detail }));
}

/**
 * Run `fn` as soon as the element #id exists: immediately when the bundle is
 * loaded after that element (end of <body>, so inline scripts placed after the
 * bundle can use window.foerder* right away), otherwise on DOMContentLoaded
 * (bundle in <head>, with or without `defer`).
 */
export function onReady(id, fn) {
  if (document.getElementById(id) || document.readyState !== 'loading') {
    fn();
  } else {
    document.addEventListener('DOMContentLoaded', fn, { once: true });
  }
}
