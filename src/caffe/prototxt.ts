// Protocol-buffer text format, as Caffe's .prototxt files use it, parsed into a generic tree that keeps the
// line of every field. Schema-free: field names are not checked here; the converter asks for what it needs.
//
// Grammar: message := field*; field := NAME (':' value | ':'? '{' message '}' | ':' '[' values ']') [',' | ';'];
// value := string+ (adjacent strings concatenate) | number | identifier (enum value, true/false, inf, nan).
// '<' '>' may replace braces; '#' starts a comment.
import { FvizError } from '../errors.ts';

export type TextScalar =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number; text: string }
  | { kind: 'ident'; value: string };

export interface TextField {
  name: string;
  value: TextScalar | TextMessage;
  line: number;
}

export interface TextMessage {
  kind: 'message';
  fields: TextField[];
  /** Line of the opening brace (1 for the top level). */
  line: number;
}

type Tok =
  | { t: 'ident'; v: string; line: number }
  | { t: 'number'; v: number; text: string; line: number }
  | { t: 'string'; v: string; line: number }
  | { t: 'punct'; v: string; line: number }
  | { t: 'eof'; line: number };

const IDENT = /[A-Za-z_][A-Za-z0-9_.]*/y;
const NUMBER = /[-+]?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)[fF]?/y;

function tokenize(text: string, source: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
    } else if (c === '#') {
      while (i < n && text[i] !== '\n') i++;
    } else if ('{}<>[]:,;'.includes(c)) {
      toks.push({ t: 'punct', v: c, line });
      i++;
    } else if (c === '"' || c === "'") {
      const start = line;
      let s = '';
      i++;
      for (;;) {
        if (i >= n || text[i] === '\n') throw new FvizError(`${source}:${start}: string is not closed`);
        const d = text[i]!;
        if (d === c) {
          i++;
          break;
        }
        if (d === '\\') {
          const [ch, len] = unescape(text, i + 1, source, line);
          s += ch;
          i += 1 + len;
        } else {
          s += d;
          i++;
        }
      }
      toks.push({ t: 'string', v: s, line: start });
    } else if (/[-+0-9.]/.test(c)) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (m) {
        const raw = m[0];
        const hex = /^[-+]?0[xX]/.test(raw);
        const value = hex
          ? (raw.startsWith('-') ? -1 : 1) * parseInt(raw.replace(/^[-+]?0[xX]/, ''), 16)
          : Number(raw.replace(/[fF]$/, ''));
        toks.push({ t: 'number', v: value, text: raw, line });
        i += raw.length;
      } else if (c === '-' || c === '+') {
        // '-inf', '-nan'
        IDENT.lastIndex = i + 1;
        const w = IDENT.exec(text);
        const word = w?.[0].toLowerCase();
        if (word === 'inf' || word === 'infinity' || word === 'nan') {
          const sign = c === '-' ? -1 : 1;
          toks.push({ t: 'number', v: word === 'nan' ? NaN : sign * Infinity, text: c + w![0], line });
          i += 1 + w![0].length;
        } else throw new FvizError(`${source}:${line}: unexpected '${c}'`);
      } else throw new FvizError(`${source}:${line}: unexpected '${c}'`);
    } else {
      IDENT.lastIndex = i;
      const m = IDENT.exec(text);
      if (!m) throw new FvizError(`${source}:${line}: unexpected character '${c}'`);
      toks.push({ t: 'ident', v: m[0], line });
      i += m[0].length;
    }
  }
  toks.push({ t: 'eof', line });
  return toks;
}

const SIMPLE_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v', '?': '?' };

/** The character an escape starting at text[i] (after the backslash) stands for, and its length. */
function unescape(text: string, i: number, source: string, line: number): [string, number] {
  const c = text[i];
  if (c === undefined) throw new FvizError(`${source}:${line}: string ends in a backslash`);
  if (c in SIMPLE_ESCAPES) return [SIMPLE_ESCAPES[c]!, 1];
  const oct = /^[0-7]{1,3}/.exec(text.slice(i, i + 3));
  if (oct) return [String.fromCharCode(parseInt(oct[0], 8)), oct[0].length];
  if (c === 'x' || c === 'X') {
    const hex = /^[0-9a-fA-F]{1,2}/.exec(text.slice(i + 1, i + 3));
    if (hex) return [String.fromCharCode(parseInt(hex[0], 16)), 1 + hex[0].length];
  }
  throw new FvizError(`${source}:${line}: unknown escape '\\${c}' in string`);
}

function describe(t: Tok): string {
  switch (t.t) {
    case 'eof':
      return 'the end of the file';
    case 'string':
      return `string "${t.v}"`;
    case 'number':
      return `number ${t.text}`;
    default:
      return `'${t.v}'`;
  }
}

class Parser {
  private pos = 0;
  constructor(
    private readonly toks: Tok[],
    private readonly source: string,
  ) {}

  private peek(): Tok {
    return this.toks[this.pos]!;
  }
  private next(): Tok {
    return this.toks[this.pos++]!;
  }
  private isPunct(v: string): boolean {
    const t = this.peek();
    return t.t === 'punct' && t.v === v;
  }
  private fail(t: Tok, what: string): never {
    throw new FvizError(`${this.source}:${t.line}: expected ${what}, found ${describe(t)}`);
  }

  /** Fields up to `close` ('}' or '>') or the end of input when close is undefined. */
  message(line: number, close?: string): TextMessage {
    const fields: TextField[] = [];
    for (;;) {
      const t = this.peek();
      if (close === undefined ? t.t === 'eof' : t.t === 'punct' && t.v === close) {
        this.next();
        return { kind: 'message', fields, line };
      }
      if (t.t === 'eof') throw new FvizError(`${this.source}:${line}: message opened here is not closed`);
      if (t.t === 'punct' && t.v === '[')
        throw new FvizError(`${this.source}:${t.line}: extension fields ([...]) are not supported in Caffe prototxt`);
      if (t.t !== 'ident') this.fail(t, 'a field name');
      this.next();
      this.field(t.v, t.line, fields);
      if (this.isPunct(',') || this.isPunct(';')) this.next();
    }
  }

  private field(name: string, line: number, out: TextField[]): void {
    let colon = false;
    if (this.isPunct(':')) {
      this.next();
      colon = true;
    }
    const t = this.peek();
    if (t.t === 'punct' && (t.v === '{' || t.v === '<')) {
      this.next();
      out.push({ name, value: this.message(t.line, t.v === '{' ? '}' : '>'), line });
      return;
    }
    if (!colon) this.fail(t, `':' or '{' after field '${name}'`);
    if (t.t === 'punct' && t.v === '[') {
      this.next();
      if (this.isPunct(']')) {
        this.next();
        return;
      }
      for (;;) {
        const el = this.peek();
        if (el.t === 'punct' && (el.v === '{' || el.v === '<')) {
          this.next();
          out.push({ name, value: this.message(el.line, el.v === '{' ? '}' : '>'), line: el.line });
        } else out.push({ name, value: this.scalar(), line: el.line });
        const sep = this.next();
        if (sep.t === 'punct' && sep.v === ']') return;
        if (!(sep.t === 'punct' && sep.v === ',')) this.fail(sep, `',' or ']' in the list of '${name}'`);
      }
    }
    out.push({ name, value: this.scalar(), line });
  }

  private scalar(): TextScalar {
    const t = this.next();
    if (t.t === 'string') {
      let v = t.v;
      while (this.peek().t === 'string') v += (this.next() as { v: string }).v;
      return { kind: 'string', value: v };
    }
    if (t.t === 'number') return { kind: 'number', value: t.v, text: t.text };
    if (t.t === 'ident') {
      const low = t.v.toLowerCase();
      if (low === 'inf' || low === 'infinity') return { kind: 'number', value: Infinity, text: t.v };
      if (low === 'nan') return { kind: 'number', value: NaN, text: t.v };
      return { kind: 'ident', value: t.v };
    }
    this.fail(t, 'a value');
  }
}

/** Parse prototxt text. `source` names the file in error messages ("deploy.prototxt:12: ..."). */
export function parsePrototxt(text: string, source = 'prototxt'): TextMessage {
  return new Parser(tokenize(text, source), source).message(1);
}

// ------------------------------------------------------------------ reading fields of a parsed message

export function fieldsNamed(m: TextMessage, name: string): TextField[] {
  return m.fields.filter((f) => f.name === name);
}

/** The last occurrence of a singular field (protobuf text semantics: the last one wins). */
export function lastField(m: TextMessage, name: string): TextField | undefined {
  for (let i = m.fields.length - 1; i >= 0; i--) if (m.fields[i]!.name === name) return m.fields[i];
  return undefined;
}

export function isMessage(v: TextScalar | TextMessage): v is TextMessage {
  return v.kind === 'message';
}

/** Reads typed values from one message, with errors that name the field and its line. */
export class TextReader {
  constructor(
    readonly msg: TextMessage,
    readonly source: string,
    /** What the message is, for errors: "layer 'conv1'". */
    readonly what: string,
  ) {}

  has(name: string): boolean {
    return this.msg.fields.some((f) => f.name === name);
  }

  private err(f: TextField, expected: string): never {
    throw new FvizError(`${this.source}:${f.line}: ${this.what}: field '${f.name}' must be ${expected}`);
  }

  private scalarOf(f: TextField): TextScalar {
    if (isMessage(f.value)) this.err(f, 'a value, not a message');
    return f.value;
  }

  private numberOf(f: TextField): number {
    const s = this.scalarOf(f);
    if (s.kind !== 'number') this.err(f, 'a number');
    return s.value;
  }

  string(name: string): string | undefined;
  string(name: string, dflt: string): string;
  string(name: string, dflt?: string): string | undefined {
    const f = lastField(this.msg, name);
    if (!f) return dflt;
    const s = this.scalarOf(f);
    if (s.kind !== 'string') this.err(f, 'a quoted string');
    return s.value;
  }

  strings(name: string): string[] {
    return fieldsNamed(this.msg, name).map((f) => {
      const s = this.scalarOf(f);
      if (s.kind !== 'string') this.err(f, 'a quoted string');
      return s.value;
    });
  }

  number(name: string): number | undefined;
  number(name: string, dflt: number): number;
  number(name: string, dflt?: number): number | undefined {
    const f = lastField(this.msg, name);
    return f ? this.numberOf(f) : dflt;
  }

  /** A non-negative integer (Caffe's uint32 fields: sizes, pads, strides). */
  uint(name: string, dflt: number): number;
  uint(name: string): number | undefined;
  uint(name: string, dflt?: number): number | undefined {
    const f = lastField(this.msg, name);
    if (!f) return dflt;
    const v = this.numberOf(f);
    if (!Number.isInteger(v) || v < 0) this.err(f, 'a non-negative integer');
    return v;
  }

  int(name: string, dflt: number): number;
  int(name: string): number | undefined;
  int(name: string, dflt?: number): number | undefined {
    const f = lastField(this.msg, name);
    if (!f) return dflt;
    const v = this.numberOf(f);
    if (!Number.isInteger(v)) this.err(f, 'an integer');
    return v;
  }

  numbers(name: string): number[] {
    return fieldsNamed(this.msg, name).map((f) => this.numberOf(f));
  }

  ints(name: string): number[] {
    return fieldsNamed(this.msg, name).map((f) => {
      const v = this.numberOf(f);
      if (!Number.isInteger(v)) this.err(f, 'an integer');
      return v;
    });
  }

  bool(name: string, dflt: boolean): boolean {
    const f = lastField(this.msg, name);
    if (!f) return dflt;
    const s = this.scalarOf(f);
    if (s.kind === 'ident' && (s.value === 'true' || s.value === 'True' || s.value === 't')) return true;
    if (s.kind === 'ident' && (s.value === 'false' || s.value === 'False' || s.value === 'f')) return false;
    if (s.kind === 'number' && (s.value === 0 || s.value === 1)) return s.value === 1;
    this.err(f, 'true or false');
  }

  /** An enum value, by name (or by number, mapped through `byNumber`). */
  enumValue(name: string, dflt: string, byNumber: readonly string[] = []): string {
    const f = lastField(this.msg, name);
    if (!f) return dflt;
    const s = this.scalarOf(f);
    if (s.kind === 'ident') return s.value;
    if (s.kind === 'number' && byNumber[s.value] !== undefined) return byNumber[s.value]!;
    this.err(f, 'an enum name');
  }

  message(name: string): TextReader | undefined {
    const f = lastField(this.msg, name);
    if (!f) return undefined;
    if (!isMessage(f.value)) this.err(f, 'a message in braces');
    return new TextReader(f.value, this.source, `${this.what} ${name}`);
  }

  messages(name: string): TextReader[] {
    return fieldsNamed(this.msg, name).map((f) => {
      if (!isMessage(f.value)) this.err(f, 'a message in braces');
      return new TextReader(f.value, this.source, this.what);
    });
  }

  lineOf(name: string): number {
    return lastField(this.msg, name)?.line ?? this.msg.line;
  }
}
