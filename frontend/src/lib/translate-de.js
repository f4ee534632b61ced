/**
 * German UI strings for bpmn-js, diagram-js, the properties panel and dmn-js (palette, context
 * pad, replace menu, panel groups and labels, decision table). The dictionary is data
 * (translations-de.json, English template → German text); unknown strings stay as they are.
 * Placeholders like {element} are filled in from the replacements.
 */
import DE from './translations-de.json';

export default function translate(template, replacements) {
  const values = replacements || {};
  const text = Object.prototype.hasOwnProperty.call(DE, template) ? DE[template] : template;
  return String(text).replace(/{([^}]+)}/g,
    (_, key) => (key in values ? values[key] : '{' + key + '}'));
}

export const TranslateModule = { translate: ['value', translate] };
