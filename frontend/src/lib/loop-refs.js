/**
 * SpiffWorkflow reads bpmn:loopDataInputRef / loopDataOutputRef of a multi-instance activity as
 * the *name of a process variable* (e.g. "gutachten_themen"), not as the id of a data element.
 * bpmn-moddle cannot resolve such references and drops them on import ("unresolved reference").
 * We remember them per activity when a diagram is imported and put them back on export.
 */
const BPMN = 'http://www.omg.org/spec/BPMN/20100524/MODEL';
const KINDS = ['loopDataInputRef', 'loopDataOutputRef'];
// XSD order of the children of bpmn:multiInstanceLoopCharacteristics
const ORDER = ['loopCardinality', 'loopDataInputRef', 'loopDataOutputRef', 'inputDataItem',
  'outputDataItem', 'complexBehaviorDefinition', 'completionCondition'];

function parse(xml) {
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  return doc.getElementsByTagName('parsererror').length ? null : doc;
}

/** {activityId: {loopDataInputRef: 'var', …}} for references that are not element ids. */
export function collectLoopRefs(xml) {
  const doc = parse(xml);
  const refs = {};
  if (!doc) return refs;
  const ids = new Set(Array.from(doc.querySelectorAll('[id]')).map((el) => el.getAttribute('id')));
  Array.from(doc.getElementsByTagNameNS(BPMN, 'multiInstanceLoopCharacteristics')).forEach((mi) => {
    const owner = mi.parentNode && mi.parentNode.getAttribute && mi.parentNode.getAttribute('id');
    if (!owner) return;
    Array.from(mi.children).forEach((child) => {
      const text = (child.textContent || '').trim();
      if (child.namespaceURI === BPMN && KINDS.includes(child.localName) && text && !ids.has(text)) {
        refs[owner] = refs[owner] || {};
        refs[owner][child.localName] = text;
      }
    });
  });
  return refs;
}

/** Re-insert remembered references that the exported XML lacks. */
export function restoreLoopRefs(xml, refs) {
  if (!refs || !Object.keys(refs).length) return xml;
  const doc = parse(xml);
  if (!doc) return xml;
  let changed = false;
  Array.from(doc.getElementsByTagNameNS(BPMN, 'multiInstanceLoopCharacteristics')).forEach((mi) => {
    const owner = mi.parentNode && mi.parentNode.getAttribute && mi.parentNode.getAttribute('id');
    const wanted = refs[owner];
    if (!wanted) return;
    KINDS.forEach((kind) => {
      if (!wanted[kind] || Array.from(mi.children).some((c) => c.localName === kind)) return;
      const el = doc.createElementNS(BPMN, (mi.prefix ? mi.prefix + ':' : '') + kind);
      el.textContent = wanted[kind];
      const after = ORDER.indexOf(kind);
      const next = Array.from(mi.children).find((c) => ORDER.indexOf(c.localName) > after);
      mi.insertBefore(el, next || null);
      changed = true;
    });
  });
  return changed ? new XMLSerializer().serializeToString(doc) : xml;
}

export function isKnownLoopWarning(message, refs) {
  const m = /unresolved reference <([^>]+)>/.exec(message || '');
  if (!m) return false;
  return Object.values(refs || {}).some((r) => Object.values(r).includes(m[1]));
}
