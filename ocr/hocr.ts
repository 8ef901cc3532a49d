// hOCR parsing: the page size, its text lines and their words, from Tesseract's hOCR.
//
// Accepts both the Tesseract CLI's full XHTML document and tesseract.js's `hocr` output, which is
// only the `<div class='ocr_page'>` fragment. Unlike the Go original (an XML struct parser that
// panics on a word without `x_wconf` or a title without `bbox`), missing data is tolerated and
// only input that cannot be hOCR of one page throws an `HocrError`.
import { Parser } from 'htmlparser2';

/** x0, y0, x1, y1 in image pixels, origin top left. */
export type Box = [number, number, number, number];

export interface HocrWord {
  /** Entities decoded, whitespace collapsed and trimmed; may be '' (Tesseract emits such words). */
  text: string;
  bbox: Box;
  /** `x_wconf`, 0–100; undefined when the word has none. */
  conf?: number;
}

export interface HocrLine {
  bbox: Box;
  /** hOCR `baseline <slope> <offset>`: y = bbox[3] + offset + slope × (x − bbox[0]). */
  baseline?: [number, number];
  words: HocrWord[];
  /** Index (0-based, in document order) of the enclosing ocr_par; undefined outside any. */
  par?: number;
}

export interface HocrPage {
  width: number;
  height: number;
  lines: HocrLine[];
}

export class HocrError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HocrError';
  }
}

const LINE_CLASSES = new Set(['ocr_line', 'ocr_header', 'ocr_caption', 'ocr_textfloat']);

type Kind = 'page' | 'par' | 'line' | 'word' | 'other';

interface Frame {
  kind: Kind;
  /** A short description for error messages, e.g. `<span class="ocr_line" id="line_1_2">`. */
  desc: string;
}

interface LineDraft {
  line: HocrLine | null; // null: skipped (no bbox), its words are dropped too
  desc: string;
}

interface WordDraft {
  bbox: Box | null; // null: skipped (no bbox)
  conf: number | undefined;
  text: string;
}

/**
 * Splits an hOCR `title` into its properties (`bbox 0 0 10 10; x_wconf 93` → bbox, x_wconf).
 * Semicolons inside double-quoted values (`image "a;b.png"`) do not split. The first occurrence of
 * a property wins.
 */
export function parseTitle(title: string): Map<string, string> {
  const props = new Map<string, string>();
  let start = 0;
  let quoted = false;
  const add = (part: string): void => {
    const s = part.trim();
    if (s === '') return;
    const m = /^(\S+)\s*([\s\S]*)$/.exec(s);
    if (m && !props.has(m[1]!)) props.set(m[1]!, m[2]!.trim());
  };
  for (let i = 0; i < title.length; i++) {
    const c = title[i];
    if (c === '"') quoted = !quoted;
    else if (c === ';' && !quoted) {
      add(title.slice(start, i));
      start = i + 1;
    }
  }
  add(title.slice(start));
  return props;
}

function numbers(value: string, count: number, what: string, where: string): number[] {
  const parts = value.split(/\s+/).filter((p) => p !== '');
  const nums = parts.map(Number);
  if (parts.length !== count || nums.some((n) => !Number.isFinite(n))) {
    throw new HocrError(`malformed ${what} "${value}" in ${where} (expected ${count} numbers)`);
  }
  return nums;
}

function parseBox(value: string, where: string): Box {
  const [x0, y0, x1, y1] = numbers(value, 4, 'bbox', where) as [number, number, number, number];
  if (x1 < x0 || y1 < y0) throw new HocrError(`malformed bbox "${value}" in ${where} (inverted box)`);
  return [x0, y0, x1, y1];
}

function describe(name: string, attribs: Record<string, string>): string {
  const cls = attribs['class'] !== undefined ? ` class="${attribs['class']}"` : '';
  const id = attribs['id'] !== undefined ? ` id="${attribs['id']}"` : '';
  return `<${name}${cls}${id}>`;
}

/** Parses the hOCR of one page. Throws `HocrError` when the text is not hOCR of exactly one page. */
export function parseHocr(text: string): HocrPage {
  const frames: Frame[] = [];
  // `as`: the callbacks assign these, so control flow must not narrow them to their initial null.
  let page = null as HocrPage | null;
  let pages = 0;
  let pars = 0;
  let currentPar: number | undefined;
  let line: LineDraft | null = null;
  let word: WordDraft | null = null;
  let ending = false;
  let failure = null as HocrError | null;
  const fail = (message: string): void => {
    failure ??= new HocrError(message);
  };

  const open = (name: string, attribs: Record<string, string>): Frame => {
    const classes = (attribs['class'] ?? '').split(/\s+/);
    const desc = describe(name, attribs);
    const title = attribs['title'];
    const props = title !== undefined ? parseTitle(title) : new Map<string, string>();
    const bboxText = props.get('bbox');

    if (classes.includes('ocr_page')) {
      pages++;
      if (pages > 1) throw new HocrError('more than one ocr_page element; expected the hOCR of one page');
      if (bboxText === undefined) throw new HocrError(`${desc} has no bbox, so the page size is unknown`);
      const [x0, y0, x1, y1] = parseBox(bboxText, desc);
      page = { width: x1 - x0, height: y1 - y0, lines: [] };
      return { kind: 'page', desc };
    }
    if (classes.includes('ocrx_word')) {
      if (word) throw new HocrError(`${desc} is nested in another ocrx_word`);
      const conf = props.get('x_wconf');
      word = {
        bbox: bboxText !== undefined ? parseBox(bboxText, desc) : null,
        conf: conf !== undefined ? numbers(conf, 1, 'x_wconf', desc)[0] : undefined,
        text: '',
      };
      return { kind: 'word', desc };
    }
    if (classes.some((c) => LINE_CLASSES.has(c))) {
      if (!page) throw new HocrError(`${desc} is outside an ocr_page`);
      if (line) throw new HocrError(`${desc} is nested in another text line`);
      if (word) throw new HocrError(`${desc} is nested in an ocrx_word`);
      const baselineText = props.get('baseline');
      const baseline =
        baselineText !== undefined ? (numbers(baselineText, 2, 'baseline', desc) as [number, number]) : undefined;
      const draft: HocrLine | null =
        bboxText !== undefined
          ? {
              bbox: parseBox(bboxText, desc),
              words: [],
              ...(baseline !== undefined ? { baseline } : {}),
              ...(currentPar !== undefined ? { par: currentPar } : {}),
            }
          : null;
      line = { line: draft, desc };
      return { kind: 'line', desc };
    }
    if (classes.includes('ocr_par')) {
      currentPar = pars++;
      return { kind: 'par', desc };
    }
    return { kind: 'other', desc };
  };

  const close = (frame: Frame): void => {
    if (ending && frame.kind !== 'other' && frame.kind !== 'par') {
      fail(`truncated hOCR: ${frame.desc} is not closed`);
    }
    switch (frame.kind) {
      case 'word': {
        const w = word!;
        word = null;
        // Words outside a text line are ignored, as in the original (words are children of lines).
        if (w.bbox && line?.line) {
          const text = w.text.replace(/\s+/g, ' ').trim();
          line.line.words.push(w.conf !== undefined ? { text, bbox: w.bbox, conf: w.conf } : { text, bbox: w.bbox });
        }
        break;
      }
      case 'line':
        if (line?.line) page!.lines.push(line.line);
        line = null;
        break;
      case 'par':
        currentPar = undefined;
        break;
      default:
        break;
    }
  };

  const parser = new Parser(
    {
      onopentag(name, attribs) {
        if (failure) return;
        try {
          frames.push(open(name, attribs));
        } catch (err) {
          if (!(err instanceof HocrError)) throw err;
          fail(err.message);
          frames.push({ kind: 'other', desc: name });
        }
      },
      onclosetag() {
        const frame = frames.pop();
        if (failure || !frame) return;
        close(frame);
      },
      ontext(data) {
        // Whitespace-only text with a line break inside a word is layout between child elements
        // (e.g. Tesseract's hocr_char_boxes puts each ocrx_cinfo on its own line), not a space.
        if (word && !(/^\s*$/.test(data) && /[\r\n]/.test(data))) word.text += data;
      },
    },
    { decodeEntities: true, recognizeSelfClosing: true },
  );
  parser.write(text);
  ending = true;
  parser.end();

  if (failure) throw failure;
  if (!page) {
    const start = JSON.stringify(text.trim().slice(0, 60));
    throw new HocrError(`no ocr_page element found: not hOCR? (input starts with ${start})`);
  }
  return page;
}
