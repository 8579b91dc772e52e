/**
 * Splits a byte stream into NDJSON lines, one at a time, without decoding it: a line is
 * validated and sent as the very bytes the file holds (text decoding would turn invalid
 * UTF-8 into U+FFFD and send something else than was checked). Memory stays bounded by one
 * chunk and one line, whatever the size of the input.
 */

/** One line of the input, without its line ending. */
export interface InputLine {
  /** Position in the input, from 1. */
  number: number;
  /** The line's bytes; only its first `headBytes` when it is longer than `maxLineBytes`. */
  bytes: Buffer;
  /** The whole line's length in bytes: more than `bytes.length` when only its head was kept. */
  length: number;
}

export interface ReadLinesOptions {
  /** Longest line kept whole, in bytes; a longer one cannot be a valid event and keeps only its head. */
  maxLineBytes: number;
  /** First line to yield, from 1; earlier lines are counted, not copied. @default 1 */
  fromLine?: number;
  /** Bytes kept of a line longer than `maxLineBytes`, for the report. @default 1_024 */
  headBytes?: number;
}

const LF = 0x0a;
const CR = 0x0d;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * The lines of `input` from `fromLine` on. A line ends at LF; a CR before it is part of the
 * ending (files from Windows), as is a UTF-8 byte-order mark at the start of the input. The
 * last line needs no LF; an input that ends with LF has no empty line after it.
 */
export async function* readLines(input: AsyncIterable<Buffer | string>, options: ReadLinesOptions): AsyncGenerator<InputLine> {
  const { maxLineBytes, fromLine = 1, headBytes = 1_024 } = options;
  let number = 1;
  let parts: Buffer[] = [];
  let length = 0;
  let truncated = false;
  let pending = false;

  const append = (piece: Buffer): void => {
    if (!truncated && length + piece.length <= maxLineBytes) {
      parts.push(piece);
    } else if (!truncated) {
      parts = [Buffer.concat([...parts, piece], Math.min(headBytes, length + piece.length))];
      truncated = true;
    }
    length += piece.length;
  };

  const finish = (): InputLine => {
    // concat copies: the line does not pin the chunk it came from while it waits in a flush.
    let bytes = truncated ? (parts[0] ?? Buffer.alloc(0)) : Buffer.concat(parts, length);
    let size = length;
    if (!truncated && bytes.at(-1) === CR) {
      bytes = bytes.subarray(0, -1);
      size -= 1;
    }
    if (number === 1 && bytes.subarray(0, BOM.length).equals(BOM)) {
      bytes = bytes.subarray(BOM.length);
      size -= BOM.length;
    }
    const line = { number, bytes, length: size };
    parts = [];
    length = 0;
    truncated = false;
    return line;
  };

  for await (const raw of input) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
    let pos = 0;
    while (pos <= chunk.length) {
      const lf = chunk.indexOf(LF, pos);
      const end = lf === -1 ? chunk.length : lf;
      const wanted = number >= fromLine;
      if (wanted && end > pos) append(chunk.subarray(pos, end));
      if (end > pos) pending = true;
      if (lf === -1) break;
      if (wanted) yield finish();
      number += 1;
      pending = false;
      pos = lf + 1;
    }
  }
  if (pending && number >= fromLine) yield finish();
}
