/**
 * German labels for bpmn-js / dmn-js UI strings (palette, context pad, properties panel).
 * Unknown strings stay English; placeholders like {type} are filled in.
 */
const DE = {
  // properties panel
  'General': 'Allgemein',
  'Name': 'Name',
  'ID': 'ID',
  'Documentation': 'Dokumentation (Hinweise für Bearbeitende)',
  'Element documentation': 'Hinweise zur Aufgabe',
  'Process documentation': 'Dokumentation des Prozesses',
  'Timer': 'Zeitgeber',
  'Type': 'Typ',
  'Value': 'Wert',
  'Date': 'Datum',
  'Duration': 'Dauer',
  'Cycle': 'Wiederholung',
  '<none>': '<keine>',
  'Multi-instance': 'Mehrfachinstanz',
  'Message': 'Nachricht',
  'Error': 'Fehler',
  'Signal': 'Signal',
  'Escalation': 'Eskalation',
  'Executable': 'Ausführbar',
  'Version tag': 'Versionskennung',
  'Loop cardinality': 'Anzahl',
  'Completion condition': 'Abschlussbedingung',
  'Global message reference': 'Nachrichtenreferenz',
  'Create new ...': 'Neu anlegen …',
  'Participant': 'Teilnehmer',
  'Process name': 'Prozessname',
  'Process ID': 'Prozess-ID',
  'ID must be unique.': 'Die ID muss eindeutig sein.',
  'ID must not be empty.': 'Die ID darf nicht leer sein.',
  'ID must not contain spaces.': 'Die ID darf keine Leerzeichen enthalten.',
  'Select an element to edit its properties.': 'Wählen Sie ein Element aus, um seine Eigenschaften zu bearbeiten.',
  'Multiple elements are selected. Select a single one to edit its properties.':
    'Mehrere Elemente sind ausgewählt. Wählen Sie ein einzelnes aus.',
  // palette and context pad
  'Activate hand tool': 'Hand-Werkzeug',
  'Activate lasso tool': 'Lasso-Werkzeug',
  'Activate create/remove space tool': 'Platz schaffen/entfernen',
  'Activate global connect tool': 'Verbinden',
  'Create start event': 'Startereignis anlegen',
  'Create end event': 'Endereignis anlegen',
  'Create task': 'Aufgabe anlegen',
  'Create gateway': 'Gateway anlegen',
  'Create intermediate/boundary event': 'Zwischenereignis anlegen',
  'Create data object reference': 'Datenobjekt anlegen',
  'Create data store reference': 'Datenspeicher anlegen',
  'Create expanded sub-process': 'Teilprozess anlegen',
  'Create pool/participant': 'Pool anlegen',
  'Create group': 'Gruppe anlegen',
  'Append end event': 'Endereignis anhängen',
  'Append gateway': 'Gateway anhängen',
  'Append task': 'Aufgabe anhängen',
  'Append intermediate/boundary event': 'Zwischenereignis anhängen',
  'Append text annotation': 'Anmerkung anhängen',
  'Change element': 'Element ändern',
  'Change type': 'Typ ändern',
  'Delete': 'Löschen',
  'Connect using sequence/message flow or association': 'Verbinden',
  'Connect using association': 'Mit Assoziation verbinden',
  'Connect using data input association': 'Mit Dateneingabe verbinden',
  'Add lane above': 'Lane oberhalb hinzufügen',
  'Add lane below': 'Lane unterhalb hinzufügen',
  'Divide into two lanes': 'In zwei Lanes teilen',
  'Divide into three lanes': 'In drei Lanes teilen',
  'User task': 'Benutzeraufgabe',
  'Service task': 'Service-Aufgabe',
  'Script task': 'Skript-Aufgabe',
  'Business rule task': 'Regel-Aufgabe (DMN)',
  'Task': 'Aufgabe',
  'Exclusive gateway': 'Exklusives Gateway',
  'Parallel gateway': 'Paralleles Gateway',
  'Start event': 'Startereignis',
  'End event': 'Endereignis'
};

export default function translate(template, replacements) {
  const values = replacements || {};
  const text = DE[template] || template;
  return text.replace(/{([^}]+)}/g, (_, key) => (key in values ? values[key] : '{' + key + '}'));
}

export const TranslateModule = { translate: ['value', translate] };
