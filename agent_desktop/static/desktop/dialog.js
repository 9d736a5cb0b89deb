// A modal form of the desktop (complete, transfer): a title, fields, an error line, Cancel and a
// submit button; Ctrl+Enter submits and Escape closes (the browser's own <dialog> behaviour).

import { h } from "../common/dom.js";

/**
 * Build the dialog and add it to the page. Before submitting, `check()` answers "" to go on, a
 * reason not to (shown in the error line), or null to do nothing; `submit()` does the work, and
 * a RequestError it throws keeps the dialog open with `${failure}: ${detail}`.
 */
export function formDialog({ id, title, submitText, failure, fields, check = () => "", submit }) {
  const titleEl = h("h2", { id: `${id}-title`, text: title });
  const error = h("p", { class: "form-error", role: "alert" });
  const submitButton = h("button", { type: "submit", class: "primary" }, submitText);
  const form = h(
    "form",
    { class: "dialog-form" },
    titleEl,
    fields,
    error,
    h(
      "div",
      { class: "dialog-actions" },
      h("button", { type: "button", class: "ghost", onclick: () => dialog.close() }, "Cancel"),
      submitButton,
    ),
  );
  const dialog = h("dialog", { class: "dialog", "aria-labelledby": `${id}-title` }, form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const reason = check();
    if (reason === null) return;
    if (reason) {
      error.textContent = reason;
      return;
    }
    error.textContent = "";
    submitButton.disabled = true;
    try {
      await submit();
      dialog.close();
    } catch (err) {
      error.textContent = `${failure}: ${err.detail}`;
    } finally {
      submitButton.disabled = false;
    }
  });
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  document.body.append(dialog);
  return {
    dialog,
    /** Open with a new title; the error line starts empty. */
    open(text) {
      titleEl.textContent = text;
      error.textContent = "";
      dialog.showModal();
    },
  };
}
