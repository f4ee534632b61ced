/**
 * BPMN viewer entry for the case page (→ app/static/dist/viewer.js + viewer.css).
 *
 * Page contract:
 *   <div id="diagram" data-xml-url="/optional/url.bpmn" data-label="Prozessverlauf"></div>
 *   <script type="application/xml" id="bpmn-xml">…</script>             (optional inline XML)
 *   <script type="application/json" id="diagram-states">
 *     {"completed": ["Task_1"], "active": ["Task_2"], "failed": []}
 *   </script>
 *
 * Adds markers `state-completed`, `state-active`, `state-failed` (failed wins
 * over active wins over completed), a small symbol badge per marked element
 * (so state is not conveyed by colour alone) and an aria-label summary.
 *
 * Exposes window.foerderViewer = { ready, viewer, importXML(xml), setStates(states) }.
 */
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import './viewer.css';

import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';

import { loadXml, readJsonScript, showLoadError, emit, onReady } from './lib/xml-source.js';
import { elementName } from './lib/element-label.js';

export const STATES = [
  // order = precedence (first wins)
  { key: 'failed', marker: 'state-failed', label: 'Fehlgeschlagen', symbol: '✕' },
  { key: 'active', marker: 'state-active', label: 'Aktiv', symbol: '▶' },
  { key: 'completed', marker: 'state-completed', label: 'Abgeschlossen', symbol: '✓' }
];
const OVERLAY_TYPE = 'state-badge';
const SVG_NS = 'http://www.w3.org/2000/svg';

const ZOOM_KEYS = { '+': 'in', '=': 'in', '-': 'out', '0': 'fit' };

/**
 * Zoom in / out / fit: the buttons of the server-rendered toolbar [data-fp-diagram-tools]
 * (hidden without JavaScript) and the keys + - 0 while a toolbar button has the focus.
 */
function bindZoomControls(viewer, container) {
  const tools = document.querySelector('[data-fp-diagram-tools]');
  if (!tools) return;
  const zoom = (how) => {
    const canvas = viewer.get('canvas');
    if (how === 'fit') canvas.zoom('fit-viewport', 'auto');
    else viewer.get('zoomScroll').stepZoom(how === 'in' ? 1 : -1);
    emit(container, 'foerder:zoomed', { how });
  };
  tools.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-zoom]');
    if (button) zoom(button.dataset.zoom);
  });
  tools.addEventListener('keydown', (event) => {
    const how = ZOOM_KEYS[event.key];
    if (!how || event.ctrlKey || event.metaKey || event.altKey) return;
    event.preventDefault();
    zoom(how);
  });
  tools.hidden = false;
}

function init() {
  const container = document.getElementById('diagram');
  if (!container) return;

  const viewer = new NavigatedViewer({ container });
  container.classList.add('fp-viewer-canvas');
  const baseLabel = container.dataset.label || container.getAttribute('aria-label') || 'Prozessdiagramm';

  let marked = new Map(); // id -> marker

  function clearStates() {
    const canvas = viewer.get('canvas');
    const registry = viewer.get('elementRegistry');
    viewer.get('overlays').remove({ type: OVERLAY_TYPE });
    marked.forEach((marker, id) => {
      const el = registry.get(id);
      if (!el) return;
      canvas.removeMarker(id, marker);
      const gfx = registry.getGraphics(el);
      const title = gfx && gfx.querySelector(':scope > title.fp-state-title');
      if (title) title.remove();
    });
    marked = new Map();
  }

  function setStates(states) {
    states = states || {};
    clearStates();
    const canvas = viewer.get('canvas');
    const registry = viewer.get('elementRegistry');
    const overlays = viewer.get('overlays');
    const summary = [];

    STATES.forEach((state) => {
      const names = [];
      const ids = Array.isArray(states[state.key]) ? states[state.key] : [];
      ids.forEach((id) => {
        if (marked.has(id)) return; // higher-precedence state already applied
        const element = registry.get(id);
        if (!element) return;
        canvas.addMarker(id, state.marker);
        marked.set(id, state.marker);

        const gfx = registry.getGraphics(element);
        if (gfx) {
          const title = document.createElementNS(SVG_NS, 'title');
          title.setAttribute('class', 'fp-state-title');
          title.textContent = state.label + ': ' + elementName(element);
          gfx.insertBefore(title, gfx.firstChild);
        }

        if (!element.waypoints) {
          const badge = document.createElement('span');
          badge.className = 'fp-state-badge fp-state-badge--' + state.key;
          badge.setAttribute('aria-hidden', 'true');
          badge.textContent = state.symbol;
          overlays.add(id, OVERLAY_TYPE, { position: { top: -10, right: 10 }, html: badge });
          names.push(elementName(element));
        }
      });
      summary.push(state.label + ': ' + (names.length ? names.join(', ') : 'keine'));
    });

    // Screen-reader summary; listed in reading order completed → active → failed.
    summary.reverse();
    container.setAttribute('role', 'figure');
    container.setAttribute('aria-label', baseLabel + '. ' + summary.join('. ') + '.');
    emit(container, 'foerder:states-applied', { marked: Object.fromEntries(marked) });
  }

  async function importXML(xml) {
    clearStates();
    const result = await viewer.importXML(xml);
    viewer.get('canvas').zoom('fit-viewport', 'auto');
    return result;
  }

  let ready;
  const api = {
    viewer,
    get ready() { return ready; },
    importXML,
    async setStates(states) {
      await ready;
      setStates(states);
    }
  };
  window.foerderViewer = api;

  ready = (async () => {
    try {
      const xml = await loadXml(container, 'bpmn-xml');
      if (!xml) throw new Error('Kein BPMN-XML vorhanden (#bpmn-xml oder data-xml-url fehlt).');
      await importXML(xml);
      setStates(readJsonScript('diagram-states', {}));
    } catch (err) {
      console.error('[foerderViewer] import failed', err);
      showLoadError(container, err && err.message ? err.message : String(err));
      throw err;
    }
  })();
  ready.then(() => {
    bindZoomControls(viewer, container);
    emit(container, 'foerder:ready', { api });
  }, () => {});
}

onReady('diagram', init);
