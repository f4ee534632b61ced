/**
 * Server-rendered forms without inline JS: a hidden field marked with
 * `attr` (e.g. <input type="hidden" name="bpmn_xml" data-bpmn-xml-target>)
 * is filled with the current diagram XML right before its form submits.
 */
export function bindXmlFormFields(attr, getXml) {
  const fields = document.querySelectorAll('[' + attr + ']');
  fields.forEach((field) => {
    const form = field.form || field.closest('form');
    if (!form || form.dataset.fpXmlBound === attr) return;
    form.dataset.fpXmlBound = attr;
    form.addEventListener('submit', async (event) => {
      if (form.dataset.fpXmlFilled === '1') {
        delete form.dataset.fpXmlFilled;
        return; // second pass: let the browser submit
      }
      event.preventDefault();
      const submitter = event.submitter || null;
      try {
        const xml = await getXml();
        form.querySelectorAll('[' + attr + ']').forEach((f) => { f.value = xml; });
      } catch (err) {
        console.error('[foerderportal] XML konnte nicht erzeugt werden', err);
        return;
      }
      form.dataset.fpXmlFilled = '1';
      // getXml() may settle in microtasks, i.e. while the browser still dispatches this submit
      // event; a submission requested then is silently ignored. Submit in a new task instead.
      setTimeout(() => {
        if (typeof form.requestSubmit === 'function') {
          form.requestSubmit(submitter && submitter.form === form ? submitter : undefined);
        } else {
          form.submit();
        }
      }, 0);
    });
  });
}
