/**
 * How a diagram element is named in text alternatives (aria-labels, <title>s): its name, or
 * — for unnamed elements such as a plain start event — its German type ("Startereignis"),
 * never its technical BPMN id.
 */
import translate from './translate-de.js';

export function typeLabel(element) {
  const raw = String((element && element.type) || '').split(':').pop();
  return translate(raw.replace(/(\B[A-Z])/g, ' $1'));
}

export function elementName(element) {
  const bo = element && element.businessObject;
  const name = bo && bo.name && String(bo.name).replace(/\s+/g, ' ').trim();
  return name || typeLabel(element);
}
