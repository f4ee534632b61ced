/**
 * German text for the import warnings and errors of bpmn-js / dmn-js / moddle-xml (they do not
 * go through the translate service). The patterns are data (import-messages-de.json:
 * [regular expression, German template with {1}…{n}]; {=n} marks a group that is itself a
 * message, e.g. the nested error of "unparsable content"); an unknown message stays as it is.
 */
import PATTERNS from './import-messages-de.json';

const RULES = PATTERNS.map(([source, template]) => [new RegExp(source), template]);

export function germanImportMessage(message) {
  const text = String(message == null ? '' : message).trim();
  for (const [pattern, template] of RULES) {
    const m = pattern.exec(text);
    if (m) {
      return template.replace(/{(=?)(\d+)}/g, (_, nested, i) => {
        const part = m[Number(i)] || '';
        return nested ? germanImportMessage(part) : part;
      }).replace(/ {2,}/g, ' ');
    }
  }
  return text;
}
