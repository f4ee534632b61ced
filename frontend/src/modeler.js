/**
 * BPMN modeler entry (→ app/static/dist/modeler.js + modeler.css).
 *
 * Page contract:
 *   <div id="canvas" data-xml-url="/optional/url.bpmn"></div>   (required)
 *   <div id="properties"></div>                                 (optional: properties panel)
 *   <script type="application/xml" id="bpmn-xml">…</script>     (optional inline XML)
 *
 * Exposes window.foerderModeler = {
 *   ready: Promise<void>, modeler,
 *   getXML(): Promise<string>, importXML(xml): Promise<{warnings}>,
 *   markErrors([{element_id, message}]): Promise<{marked, unmatched}>, clearErrors(),
 *   showElement(id), getSVG(): Promise<string>
 * }
 */
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn.css';
import '@bpmn-io/properties-panel/dist/assets/properties-panel.css';
import './modeler.css';

import BpmnModeler from 'bpmn-js/lib/Modeler';
import {
  BpmnPropertiesPanelModule,
  BpmnPropertiesProviderModule
} from 'bpmn-js-properties-panel';

import { loadXml, showLoadError, emit, onReady } from './lib/xml-source.js';
import { bindXmlFormFields } from './lib/form-binding.js';
import { FoerderPropertiesProviderModule } from './lib/properties-provider.js';
import { TranslateModule } from './lib/translate-de.js';
import { collectLoopRefs, isKnownLoopWarning, restoreLoopRefs } from './lib/loop-refs.js';
import { germanImportMessage } from './lib/import-messages.js';
import spiffworkflowModdle from './lib/spiffworkflow-moddle.json';

export const ERROR_MARKER = 'validation-error';
const OVERLAY_TYPE = 'validation-error';

function init() {
  const container = document.getElementById('canvas');
  if (!container) return;
  const panel = document.getElementById('properties');

  // spiffworkflow:* extension elements (forms, operators, DMN references) are typed moddle
  // elements, edited in the "Förderportal" properties group
  const options = {
    container,
    moddleExtensions: { spiffworkflow: spiffworkflowModdle },
    additionalModules: [TranslateModule]
  };
  if (panel) {
    options.propertiesPanel = { parent: panel };
    options.additionalModules.push(
      BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, FoerderPropertiesProviderModule);
  }
  const modeler = new BpmnModeler(options);
  container.classList.add('fp-modeler-canvas');

  let markedIds = [];

  function clearErrors() {
    const canvas = modeler.get('canvas');
    const overlays = modeler.get('overlays');
    overlays.remove({ type: OVERLAY_TYPE });
    markedIds.forEach((id) => {
      if (modeler.get('elementRegistry').get(id)) canvas.removeMarker(id, ERROR_MARKER);
    });
    markedIds = [];
  }

  function applyErrors(errors) {
    clearErrors();
    const registry = modeler.get('elementRegistry');
    const canvas = modeler.get('canvas');
    const overlays = modeler.get('overlays');

    // group messages per element id
    const byId = new Map();
    const unmatched = [];
    (errors || []).forEach((err) => {
      if (!err) return;
      const id = err.element_id;
      if (!id || !registry.get(id)) {
        unmatched.push(err);
        return;
      }
      if (!byId.has(id)) byId.set(id, []);
      byId.get(id).push(String(err.message == null ? '' : err.message));
    });

    byId.forEach((messages, id) => {
      canvas.addMarker(id, ERROR_MARKER);
      markedIds.push(id);

      const html = document.createElement('div');
      html.className = 'validation-error-overlay';
      html.setAttribute('role', 'note');
      const list = document.createElement('ul');
      messages.forEach((msg) => {
        const li = document.createElement('li');
        li.textContent = msg;
        list.appendChild(li);
      });
      html.appendChild(list);
      html.title = messages.join('\n');

      overlays.add(id, OVERLAY_TYPE, {
        position: { bottom: -6, left: 0 },
        html
      });
    });

    const result = { marked: markedIds.slice(), unmatched };
    emit(container, 'foerder:errors-marked', result);
    return result;
  }

  let loopRefs = {};

  async function importXML(xml) {
    clearErrors();
    loopRefs = collectLoopRefs(xml);
    const result = await modeler.importXML(xml);
    modeler.get('canvas').zoom('fit-viewport', 'auto');
    return result;
  }

  let ready;

  const api = {
    modeler,
    importWarnings: [],
    get ready() { return ready; },
    async getXML() {
      await ready;
      const { xml } = await modeler.saveXML({ format: true });
      return restoreLoopRefs(xml, loopRefs);
    },
    async getSVG() {
      await ready;
      const { svg } = await modeler.saveSVG();
      return svg;
    },
    importXML,
    async markErrors(errors) {
      await ready;
      return applyErrors(errors);
    },
    clearErrors,
    showElement(id) {
      const element = modeler.get('elementRegistry').get(id);
      if (!element) return false;
      modeler.get('canvas').scrollToElement(element);
      modeler.get('selection').select(element);
      return true;
    }
  };
  window.foerderModeler = api;

  ready = (async () => {
    try {
      const xml = await loadXml(container, 'bpmn-xml');
      if (xml) {
        const { warnings } = await importXML(xml);
        api.importWarnings = (warnings || []).map((w) => String(w && w.message ? w.message : w))
          .filter((m) => !isKnownLoopWarning(m, loopRefs)).map(germanImportMessage);
        if (warnings && warnings.length) console.warn('[foerderModeler] import warnings', warnings);
      } else {
        await modeler.createDiagram();
      }
    } catch (err) {
      console.error('[foerderModeler] import failed', err);
      showLoadError(container, err && err.message ? err.message : String(err));
      throw err;
    }
  })();
  ready.then(
    () => emit(container, 'foerder:ready', { api }),
    () => {}
  );

  modeler.on('commandStack.changed', () => emit(container, 'foerder:change', {}));

  bindXmlFormFields('data-bpmn-xml-target', () => api.getXML());
}

onReady('canvas', init);
