/**
 * DMN modeler entry (→ app/static/dist/dmn.js + dmn.css).
 *
 * Page contract:
 *   <div id="dmn-canvas" data-xml-url="/optional/url.dmn"></div>
 *   <script type="application/xml" id="dmn-xml">…</script>   (optional inline XML)
 * Without XML a new, empty decision table is created.
 *
 * Exposes window.foerderDmn = {
 *   ready, modeler, getXML(): Promise<string>, importXML(xml), openDecision(id)
 * }
 */
import 'dmn-js/dist/assets/diagram-js.css';
import 'dmn-js/dist/assets/dmn-js-shared.css';
import 'dmn-js/dist/assets/dmn-js-drd.css';
import 'dmn-js/dist/assets/dmn-js-decision-table.css';
import 'dmn-js/dist/assets/dmn-js-decision-table-controls.css';
import 'dmn-js/dist/assets/dmn-js-literal-expression.css';
import 'dmn-js/dist/assets/dmn-js-boxed-expression.css';
import 'dmn-js/dist/assets/dmn-js-boxed-expression-controls.css';
import 'dmn-js/dist/assets/dmn-font/css/dmn.css';
import './dmn.css';

import DmnModeler from 'dmn-js/lib/Modeler';

import { loadXml, showLoadError, emit, onReady } from './lib/xml-source.js';
import { bindXmlFormFields } from './lib/form-binding.js';
import { TranslateModule } from './lib/translate-de.js';

export const EMPTY_DMN = `<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" xmlns:dmndi="https://www.omg.org/spec/DMN/20191111/DMNDI/" xmlns:dc="http://www.omg.org/spec/DMN/20180521/DC/" id="Definitions_Foerderregeln" name="Förderregeln" namespace="https://foerderportal.hessen.de/dmn">
  <decision id="Decision_1" name="Entscheidung">
    <decisionTable id="DecisionTable_1">
      <input id="Input_1" label="Eingabe">
        <inputExpression id="InputExpression_1" typeRef="string">
          <text></text>
        </inputExpression>
      </input>
      <output id="Output_1" label="Ergebnis" name="ergebnis" typeRef="string" />
    </decisionTable>
  </decision>
  <dmndi:DMNDI>
    <dmndi:DMNDiagram id="DMNDiagram_1">
      <dmndi:DMNShape id="DMNShape_Decision_1" dmnElementRef="Decision_1">
        <dc:Bounds height="80" width="180" x="160" y="100" />
      </dmndi:DMNShape>
    </dmndi:DMNDiagram>
  </dmndi:DMNDI>
</definitions>
`;

function init() {
  const container = document.getElementById('dmn-canvas');
  if (!container) return;

  // German labels in every view (dmn-js ignores additionalModules under `common`)
  const german = { additionalModules: [TranslateModule] };
  const modeler = new DmnModeler({
    container, drd: german, decisionTable: german, literalExpression: german, boxedExpression: german
  });
  container.classList.add('fp-dmn-canvas');

  async function importXML(xml) {
    const result = await modeler.importXML(xml);
    const viewer = modeler.getActiveViewer();
    if (viewer && modeler.getActiveView().type === 'drd') {
      viewer.get('canvas').zoom('fit-viewport', 'auto');
    }
    return result;
  }

  let ready;
  const api = {
    modeler,
    get ready() { return ready; },
    async getXML() {
      await ready;
      const { xml } = await modeler.saveXML({ format: true });
      return xml;
    },
    importXML,
    /** Switch to the decision table / literal expression view of decision `id`. */
    async openDecision(id) {
      await ready;
      const view = modeler.getViews().find((v) => v.element.id === id && v.type !== 'drd');
      if (!view) return false;
      await modeler.open(view);
      return true;
    }
  };
  window.foerderDmn = api;

  ready = (async () => {
    try {
      const xml = (await loadXml(container, 'dmn-xml')) || EMPTY_DMN;
      const { warnings } = await importXML(xml);
      if (warnings && warnings.length) console.warn('[foerderDmn] import warnings', warnings);
    } catch (err) {
      console.error('[foerderDmn] import failed', err);
      showLoadError(container, err && err.message ? err.message : String(err));
      throw err;
    }
  })();
  ready.then(() => emit(container, 'foerder:ready', { api }), () => {});

  // forward edits of whichever view (DRD, decision table, …) is active
  const boundViewers = new WeakSet();
  modeler.on('views.changed', ({ activeView }) => {
    emit(container, 'foerder:views-changed', { view: activeView && activeView.type });
    const viewer = modeler.getActiveViewer();
    if (viewer && !boundViewers.has(viewer)) {
      boundViewers.add(viewer);
      viewer.on('commandStack.changed', () => emit(container, 'foerder:change', {}));
    }
  });

  bindXmlFormFields('data-dmn-xml-target', () => api.getXML());
}

onReady('dmn-canvas', init);
