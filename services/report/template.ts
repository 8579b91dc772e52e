/**
 * The review pack's templates: HTML that escapes by default. `html` is a tagged template whose
 * every interpolated value is escaped — strings, numbers, arrays of them — unless it is
 * already `Html` (the result of another `html` template, or `trusted` markup the program made
 * itself, such as a chart's SVG). A string from the warehouse (a unit, an import's source, an
 * approval comment) therefore cannot become markup, whichever template it lands in.
 */

/** Markup that is safe to insert as is. Made only by `html` and `trusted`. */
export class Html {
  readonly #text: string;

  constructor(text: string) {
    this.#text = text;
  }

  toString(): string {
    return this.#text;
  }
}

/** What a template may interpolate. null, undefined and false render as nothing. */
export type Part = Html | string | number | null | undefined | false | readonly Part[];

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Text made safe for element content and for quoted attribute values alike. Control
 * characters other than tab and newline are dropped: they are not allowed in HTML and print
 * as boxes.
 */
export function escapeHtml(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '').replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

function render(part: Part): string {
  if (part instanceof Html) return part.toString();
  if (part === null || part === undefined || part === false) return '';
  if (Array.isArray(part)) return (part as readonly Part[]).map(render).join('');
  return escapeHtml(String(part));
}

/** The template tag: literal parts as written, every value escaped unless it is Html. */
export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return new Html(out);
}

/** Markup the program produced itself (never text from outside): inserted as is. */
export function trusted(markup: string): Html {
  return new Html(markup);
}
