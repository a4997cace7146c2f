/** A small animated ring; the text beside it carries the meaning for screen readers. */
export const Spinner = () => <span className="spinner" aria-hidden="true" />;
