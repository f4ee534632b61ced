/**
 * Progressive enhancement for the server-rendered pages (→ app/static/dist/page.js).
 * Every page works without it; with it:
 *   - the error summary ([data-fp-error-summary]) gets the focus after a failed submit;
 *   - forms with data-confirm="…" ask before submitting (terminate, discard, …);
 *   - the BPMN modeler page marks the server's validation problems at their elements
 *     (<script type="application/json" id="validation-problems">) and shows import warnings;
 *   - the form editor ([data-fp-preview-form]) refreshes its preview while typing;
 *   - modeler pages warn before leaving with unsaved changes.
 */
import { readJsonScript } from './lib/xml-source.js';

function focusErrorSummary() {
  const summary = document.querySelector('[data-fp-error-summary]');
  if (summary) {
    summary.focus();
    return;
  }
  const autofocus = document.querySelector('[data-fp-autofocus]');
  if (autofocus) autofocus.focus();
}

function confirmForms() {
  document.querySelectorAll('form[data-confirm]').forEach((form) => {
    form.addEventListener('submit', (event) => {
      // eslint-disable-next-line no-alert
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
}

function modelerProblems() {
  const canvas = document.getElementById('canvas');
  if (!canvas || !window.foerderModeler) return;
  const api = window.foerderModeler;
  const problems = readJsonScript('validation-problems', []);
  api.ready.then(async () => {
    if (problems.length) {
      const file = canvas.dataset.file;
      const mine = problems.filter((p) => !file || !p.file || p.file === file)
        .map((p) => ({ ...p, element_id: p.marker_id || p.element_id }));
      const result = await api.markErrors(mine);
      canvas.dataset.marked = result.marked.join(' ');
    }
    const box = document.getElementById('import-warnings');
    if (box && api.importWarnings.length) {
      box.hidden = false;
      const list = box.querySelector('ul');
      api.importWarnings.forEach((w) => {
        const li = document.createElement('li');
        li.textContent = w;
        list.appendChild(li);
      });
    }
    canvas.dataset.ready = '1';
  }, () => { canvas.dataset.ready = 'error'; });
  // Links in the problem list carry data-fp-show-element; diagram-js itself marks every
  // shape *and the root <svg>* with data-element-id, so that attribute must never be used
  // to find our own links (a handler there swallowed every click on the canvas).
  document.addEventListener('click', (event) => {
    const link = event.target.closest && event.target.closest('a[data-fp-show-element]');
    if (!link || canvas.contains(link)) return;
    if (api.showElement(link.dataset.fpShowElement)) {
      event.preventDefault();
      canvas.focus();
    }
  });
}

function unsavedChangesGuard() {
  const container = document.querySelector('#canvas, #dmn-canvas, [data-fp-preview-form]');
  if (!container) return;
  let dirty = false;
  document.addEventListener('foerder:change', () => { dirty = true; });
  document.addEventListener('input', (event) => {
    if (event.target.closest('[data-fp-preview-form]')) dirty = true;
  });
  document.addEventListener('submit', () => { dirty = false; }, true);
  window.addEventListener('beforeunload', (event) => {
    if (dirty) {
      event.preventDefault();
      event.returnValue = '';
    }
  });
}

function livePreview() {
  const form = document.querySelector('[data-fp-preview-form]');
  const target = document.getElementById('form-preview');
  if (!form || !target || !window.fetch) return;
  const url = form.dataset.previewUrl;
  let timer = null;
  let seq = 0;
  async function refresh() {
    const mine = ++seq;
    const body = new FormData(form);
    try {
      const res = await fetch(url, {
        method: 'POST', body, credentials: 'same-origin',
        headers: { 'X-Requested-With': 'fetch', 'X-CSRFToken': body.get('csrf_token') || '' }
      });
      if (mine !== seq) return;
      target.innerHTML = await res.text();
      target.dataset.updated = String(mine);
    } catch (err) {
      console.error('[foerderportal] Vorschau fehlgeschlagen', err);
    }
  }
  form.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 350);
  });
}

function init() {
  focusErrorSummary();
  confirmForms();
  modelerProblems();
  unsavedChangesGuard();
  livePreview();
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', init, { once: true });
} else {
  init();
}
