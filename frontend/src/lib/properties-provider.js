/**
 * Properties-panel group "Förderportal": edits what the platform reads from a BPMN model.
 *
 *   Lane            → the candidate group (the lane's name)
 *   User task       → form (formJsonSchemaFilename, formUiSchemaFilename), dueInDays,
 *                     candidateGroup, candidateGroupExpression, municipalityExpression
 *   Service task    → spiffworkflow:serviceTaskOperator id, resultVariable, parameters
 *   Business rule   → spiffworkflow:calledDecisionId (DMN decision)
 *   Sequence flow   → condition expression (Python expression, e.g. betrag > 50000)
 * Timer expressions and the documentation (instructions) are edited in the standard groups.
 *
 * Choices (operators, decisions, forms, groups) come from
 *   <script type="application/json" id="modeler-palette">{"operators":[…], …}</script>
 */
import { jsx } from '@bpmn-io/properties-panel/preact/jsx-runtime';
import {
  SelectEntry,
  TextAreaEntry,
  TextFieldEntry,
  isSelectEntryEdited,
  isTextAreaEntryEdited,
  isTextFieldEntryEdited
} from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

import { readJsonScript } from './xml-source.js';

const LOW_PRIORITY = 400;

function palette() {
  return readJsonScript('modeler-palette', {}) || {};
}

// --- moddle helpers ---------------------------------------------------------------------------

function extensionValues(bo) {
  const ext = bo.get('extensionElements');
  return ext ? ext.get('values') : [];
}

function findExtension(bo, type) {
  return extensionValues(bo).find((v) => is(v, type));
}

/** Commands that make sure bo.extensionElements contains an element of `type` (created by `create`). */
function ensureExtension(element, bo, type, create, bpmnFactory, commands) {
  let ext = bo.get('extensionElements');
  if (!ext) {
    ext = bpmnFactory.create('bpmn:ExtensionElements', { values: [] });
    ext.$parent = bo;
    commands.push({ cmd: 'element.updateModdleProperties',
      context: { element, moddleElement: bo, properties: { extensionElements: ext } } });
  }
  let found = ext.get('values').find((v) => is(v, type));
  if (!found) {
    found = create();
    found.$parent = ext;
    commands.push({ cmd: 'element.updateModdleProperties',
      context: { element, moddleElement: ext, properties: { values: [...ext.get('values'), found] } } });
  }
  return found;
}

function run(commandStack, commands) {
  if (commands.length) commandStack.execute('properties-panel.multi-command-executor', commands);
}

export function getProperty(element, name) {
  const props = findExtension(getBusinessObject(element), 'spiffworkflow:Properties');
  const prop = props && props.get('properties').find((p) => p.name === name);
  return prop ? prop.value || '' : '';
}

function setProperty(element, name, value, { bpmnFactory, commandStack }) {
  const bo = getBusinessObject(element);
  const commands = [];
  value = (value || '').trim();
  const existing = findExtension(bo, 'spiffworkflow:Properties');
  if (!value && !existing) return;
  const props = ensureExtension(element, bo, 'spiffworkflow:Properties',
    () => bpmnFactory.create('spiffworkflow:Properties', { properties: [] }), bpmnFactory, commands);
  const list = props.get('properties');
  const prop = list.find((p) => p.name === name);
  if (!value) {
    if (prop) {
      commands.push({ cmd: 'element.updateModdleProperties',
        context: { element, moddleElement: props, properties: { properties: list.filter((p) => p !== prop) } } });
    }
  } else if (prop) {
    commands.push({ cmd: 'element.updateModdleProperties',
      context: { element, moddleElement: prop, properties: { value } } });
  } else {
    const created = bpmnFactory.create('spiffworkflow:Property', { name, value });
    created.$parent = props;
    commands.push({ cmd: 'element.updateModdleProperties',
      context: { element, moddleElement: props, properties: { properties: [...list, created] } } });
  }
  run(commandStack, commands);
}

function operatorOf(element) {
  return findExtension(getBusinessObject(element), 'spiffworkflow:ServiceTaskOperator');
}

function ensureOperator(element, services, commands) {
  const { bpmnFactory } = services;
  const bo = getBusinessObject(element);
  return ensureExtension(element, bo, 'spiffworkflow:ServiceTaskOperator', () => {
    const op = bpmnFactory.create('spiffworkflow:ServiceTaskOperator', {});
    const params = bpmnFactory.create('spiffworkflow:Parameters', { parameters: [] });
    params.$parent = op;
    op.set('parameterList', params);
    return op;
  }, bpmnFactory, commands);
}

function setOperatorAttr(element, attr, value, services) {
  const commands = [];
  const op = ensureOperator(element, services, commands);
  commands.push({ cmd: 'element.updateModdleProperties',
    context: { element, moddleElement: op, properties: { [attr]: (value || '').trim() || undefined } } });
  run(services.commandStack, commands);
}

/** "name: typ = ausdruck" per line (typ optional, default "any"). */
export function formatParameters(op) {
  const list = op && op.get('parameterList') ? op.get('parameterList').get('parameters') : [];
  return list.map((p) => `${p.id}${p.type && p.type !== 'any' ? ': ' + p.type : ''} = ${p.value || ''}`).join('\n');
}

export function parseParameters(text) {
  const result = [];
  (text || '').split('\n').forEach((line) => {
    const m = line.match(/^\s*([A-Za-z_][\w]*)\s*(?::\s*([A-Za-z_][\w]*))?\s*=\s*(.*?)\s*$/);
    if (m) result.push({ id: m[1], type: m[2] || 'any', value: m[3] });
  });
  return result;
}

function setParameters(element, text, services) {
  const { bpmnFactory, commandStack } = services;
  const commands = [];
  const op = ensureOperator(element, services, commands);
  let params = op.get('parameterList');
  if (!params) {
    params = bpmnFactory.create('spiffworkflow:Parameters', { parameters: [] });
    params.$parent = op;
    commands.push({ cmd: 'element.updateModdleProperties',
      context: { element, moddleElement: op, properties: { parameterList: params } } });
  }
  const created = parseParameters(text).map((p) => {
    const param = bpmnFactory.create('spiffworkflow:Parameter', p);
    param.$parent = params;
    return param;
  });
  commands.push({ cmd: 'element.updateModdleProperties',
    context: { element, moddleElement: params, properties: { parameters: created } } });
  run(commandStack, commands);
}

function getDecision(element) {
  const el = findExtension(getBusinessObject(element), 'spiffworkflow:CalledDecisionId');
  return el ? (el.value || '').trim() : '';
}

function setDecision(element, value, services) {
  const { bpmnFactory, commandStack } = services;
  const commands = [];
  const el = ensureExtension(element, getBusinessObject(element), 'spiffworkflow:CalledDecisionId',
    () => bpmnFactory.create('spiffworkflow:CalledDecisionId', {}), bpmnFactory, commands);
  commands.push({ cmd: 'element.updateModdleProperties',
    context: { element, moddleElement: el, properties: { value: (value || '').trim() } } });
  run(commandStack, commands);
}

// --- entries -----------------------------------------------------------------------------------

function useServices() {
  return {
    bpmnFactory: useService('bpmnFactory'),
    commandStack: useService('commandStack'),
    modeling: useService('modeling')
  };
}

function withCurrent(options, current) {
  const values = options.slice();
  if (current && !values.includes(current)) values.unshift(current);
  return values;
}

function PropertyTextEntry(props) {
  const { element, id, property, label, description } = props;
  const services = useServices();
  const debounce = useService('debounceInput');
  return jsx(TextFieldEntry, {
    element, id, label, description, debounce,
    getValue: () => getProperty(element, property),
    setValue: (value) => setProperty(element, property, value, services)
  });
}

function PropertySelectEntry(props) {
  const { element, id, property, label, description, choices, emptyLabel } = props;
  const services = useServices();
  return jsx(SelectEntry, {
    element, id, label, description,
    getValue: () => getProperty(element, property),
    setValue: (value) => setProperty(element, property, value, services),
    getOptions: () => [{ value: '', label: emptyLabel || '– keine Angabe –' },
      ...withCurrent(choices, getProperty(element, property)).map((v) => ({ value: v, label: v }))]
  });
}

function LaneGroupEntry(props) {
  const { element, id } = props;
  const modeling = useService('modeling');
  const groups = palette().groups || [];
  const current = () => (getBusinessObject(element).name || '').trim();
  return jsx(SelectEntry, {
    element, id, label: 'Gruppe (Name der Lane)',
    description: 'Aufgaben in dieser Lane erhalten die Mitglieder dieser Gruppe.',
    getValue: current,
    setValue: (value) => modeling.updateProperties(element, { name: value }),
    getOptions: () => [{ value: '', label: '– keine –' },
      ...withCurrent(groups, current()).map((g) => ({ value: g, label: g }))]
  });
}

function OperatorEntry(props) {
  const { element, id } = props;
  const services = useServices();
  const current = () => ((operatorOf(element) || {}).id || '');
  return jsx(SelectEntry, {
    element, id, label: 'Operator',
    description: 'Die Funktion, die ein Worker für diese Service-Aufgabe ausführt.',
    getValue: current,
    setValue: (value) => setOperatorAttr(element, 'id', value, services),
    getOptions: () => [{ value: '', label: '– bitte wählen –' },
      ...withCurrent(palette().operators || [], current()).map((o) => ({ value: o, label: o }))]
  });
}

function ResultVariableEntry(props) {
  const { element, id } = props;
  const services = useServices();
  const debounce = useService('debounceInput');
  return jsx(TextFieldEntry, {
    element, id, label: 'Ergebnisvariable', debounce,
    description: 'Unter diesem Namen steht das Ergebnis in den Vorgangsdaten.',
    getValue: () => ((operatorOf(element) || {}).resultVariable || ''),
    setValue: (value) => setOperatorAttr(element, 'resultVariable', value, services)
  });
}

function ParametersEntry(props) {
  const { element, id } = props;
  const services = useServices();
  const debounce = useService('debounceInput');
  return jsx(TextAreaEntry, {
    element, id, label: 'Parameter', debounce, rows: 4, monospace: true,
    description: 'Eine Zeile je Parameter: name: typ = Ausdruck (Texte in Anführungszeichen).',
    getValue: () => formatParameters(operatorOf(element)),
    setValue: (value) => setParameters(element, value, services)
  });
}

function DecisionEntry(props) {
  const { element, id } = props;
  const services = useServices();
  return jsx(SelectEntry, {
    element, id, label: 'DMN-Entscheidung',
    description: 'Die Entscheidungstabelle, die diese Regel-Aufgabe auswertet.',
    getValue: () => getDecision(element),
    setValue: (value) => setDecision(element, value, services),
    getOptions: () => [{ value: '', label: '– bitte wählen –' },
      ...withCurrent(palette().decisions || [], getDecision(element)).map((d) => ({ value: d, label: d }))]
  });
}

function ConditionEntry(props) {
  const { element, id } = props;
  const modeling = useService('modeling');
  const bpmnFactory = useService('bpmnFactory');
  const debounce = useService('debounceInput');
  const bo = getBusinessObject(element);
  return jsx(TextFieldEntry, {
    element, id, label: 'Bedingung', debounce,
    description: 'Python-Ausdruck über die Vorgangsdaten, z. B. betrag >= 50000.',
    getValue: () => ((bo.get('conditionExpression') || {}).body || ''),
    setValue: (value) => {
      const text = (value || '').trim();
      const expression = text ? bpmnFactory.create('bpmn:FormalExpression', { body: text }) : undefined;
      modeling.updateProperties(element, { conditionExpression: expression });
    }
  });
}

function formChoices(kind) {
  const forms = palette().forms || [];
  return forms.filter((f) => (kind === 'ui') === f.endsWith('.uischema.json'));
}

function userTaskEntries(element) {
  const text = (id, property, label, description) => ({
    id, element, property, label, description, component: PropertyTextEntry, isEdited: isTextFieldEntryEdited
  });
  return [
    { id: 'fp-form-schema', element, property: 'formJsonSchemaFilename', label: 'Formular (JSON Schema)',
      choices: formChoices('schema'), component: PropertySelectEntry, isEdited: isSelectEntryEdited },
    { id: 'fp-form-ui', element, property: 'formUiSchemaFilename', label: 'UI-Schema',
      choices: formChoices('ui'), emptyLabel: '– ohne UI-Schema –', component: PropertySelectEntry,
      isEdited: isSelectEntryEdited },
    text('fp-due', 'dueInDays', 'Frist (Tage)', 'Fälligkeit der Aufgabe in Tagen nach ihrem Entstehen.'),
    { id: 'fp-group', element, property: 'candidateGroup', label: 'Gruppe (statt Lane)',
      choices: palette().groups || [], emptyLabel: '– Gruppe der Lane –', component: PropertySelectEntry,
      isEdited: isSelectEntryEdited },
    text('fp-group-expr', 'candidateGroupExpression', 'Gruppe per Ausdruck',
      'z. B. f"ressort-{ressort}" für eine Aufgabe je Ministerium.'),
    text('fp-ags-expr', 'municipalityExpression', 'Kommune per Ausdruck',
      'Ausdruck, der den AGS der zuständigen Kommune ergibt.')
  ];
}

export default class FoerderPropertiesProvider {
  constructor(propertiesPanel) {
    propertiesPanel.registerProvider(LOW_PRIORITY, this);
  }

  getGroups(element) {
    return (groups) => {
      const entries = this.entries(element);
      if (entries.length) {
        groups.splice(1, 0, { id: 'foerderportal', label: 'Förderportal', entries, shouldOpen: true });
      }
      return groups;
    };
  }

  entries(element) {
    if (is(element, 'bpmn:Lane')) {
      return [{ id: 'fp-lane-group', element, component: LaneGroupEntry, isEdited: isSelectEntryEdited }];
    }
    if (is(element, 'bpmn:UserTask')) return userTaskEntries(element);
    if (is(element, 'bpmn:ServiceTask')) {
      return [
        { id: 'fp-operator', element, component: OperatorEntry, isEdited: isSelectEntryEdited },
        { id: 'fp-result', element, component: ResultVariableEntry, isEdited: isTextFieldEntryEdited },
        { id: 'fp-params', element, component: ParametersEntry, isEdited: isTextAreaEntryEdited }
      ];
    }
    if (is(element, 'bpmn:BusinessRuleTask')) {
      return [{ id: 'fp-decision', element, component: DecisionEntry, isEdited: isSelectEntryEdited }];
    }
    if (is(element, 'bpmn:SequenceFlow')) {
      const source = element.source && getBusinessObject(element.source);
      if (source && (is(source, 'bpmn:ExclusiveGateway') || is(source, 'bpmn:InclusiveGateway'))) {
        return [{ id: 'fp-condition', element, component: ConditionEntry, isEdited: isTextFieldEntryEdited }];
      }
    }
    return [];
  }
}
FoerderPropertiesProvider.$inject = ['propertiesPanel'];

export const FoerderPropertiesProviderModule = {
  __init__: ['foerderPropertiesProvider'],
  foerderPropertiesProvider: ['type', FoerderPropertiesProvider]
};
