/**
 * A small strict XML 1.0 reader for the tests: enough of the spec to check that the JUnit file is
 * well-formed (one root, balanced tags, quoted and unique attributes, only the five predefined
 * entities and numeric references, no character XML 1.0 forbids) and to read it back as a tree.
 * No DTDs, CDATA sections or processing instructions other than the XML declaration.
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const NAME = /^[A-Za-z_:][-A-Za-z0-9._:]*/;
const FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function allowedCodePoint(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

function decode(s: string, where: number): string {
  return s.replace(/&([^;]*);?/g, (m, body: string) => {
    if (!m.endsWith(';')) throw new Error(`bare & at ${where}`);
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    if (body in named) return named[body]!;
    const num = /^#x([0-9a-fA-F]+)$/.exec(body) ?? /^#([0-9]+)$/.exec(body);
    if (!num) throw new Error(`unknown entity &${body}; at ${where}`);
    const cp = parseInt(num[1]!, body.startsWith('#x') ? 16 : 10);
    if (!allowedCodePoint(cp)) throw new Error(`character reference to a forbidden character &${body}; at ${where}`);
    return String.fromCodePoint(cp);
  });
}

export function parseXml(xml: string): XmlElement {
  const bad = FORBIDDEN.exec(xml);
  if (bad) throw new Error(`forbidden character U+${bad[0].codePointAt(0)!.toString(16)} at ${bad.index}`);
  let i = 0;
  if (xml.startsWith('<?xml')) {
    const end = xml.indexOf('?>');
    if (end < 0) throw new Error('unterminated XML declaration');
    i = end + 2;
  }
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  const ws = () => { while (i < xml.length && /\s/.test(xml[i]!)) i++; };
  while (i < xml.length) {
    if (xml[i] === '<') {
      if (xml.startsWith('<!--', i)) {
        const end = xml.indexOf('-->', i + 4);
        if (end < 0) throw new Error('unterminated comment');
        i = end + 3;
        continue;
      }
      if (xml.startsWith('<!', i) || xml.startsWith('<?', i)) throw new Error(`unsupported markup at ${i}`);
      if (xml[i + 1] === '/') {
        i += 2;
        const m = NAME.exec(xml.slice(i));
        if (!m) throw new Error(`bad end tag at ${i}`);
        i += m[0].length;
        ws();
        if (xml[i] !== '>') throw new Error(`bad end tag at ${i}`);
        i++;
        const open = stack.pop();
        if (!open || open.name !== m[0]) throw new Error(`</${m[0]}> does not close <${open?.name ?? 'nothing'}>`);
        continue;
      }
      i++;
      const m = NAME.exec(xml.slice(i));
      if (!m) throw new Error(`bad start tag at ${i}`);
      i += m[0].length;
      const el: XmlElement = { name: m[0], attrs: {}, children: [], text: '' };
      for (;;) {
        const before = i;
        ws();
        if (xml.startsWith('/>', i)) { i += 2; break; }
        if (xml[i] === '>') { i++; stack.push(el); break; }
        if (i === before) throw new Error(`missing space before an attribute at ${i}`);
        const an = NAME.exec(xml.slice(i));
        if (!an) throw new Error(`bad attribute at ${i}`);
        i += an[0].length;
        ws();
        if (xml[i] !== '=') throw new Error(`attribute ${an[0]} without = at ${i}`);
        i++;
        ws();
        const q = xml[i];
        if (q !== '"' && q !== "'") throw new Error(`unquoted attribute ${an[0]} at ${i}`);
        const end = xml.indexOf(q, i + 1);
        if (end < 0) throw new Error('unterminated attribute');
        const raw = xml.slice(i + 1, end);
        if (raw.includes('<')) throw new Error(`< in attribute ${an[0]}`);
        if (an[0] in el.attrs) throw new Error(`duplicate attribute ${an[0]}`);
        // Attribute-value normalisation: literal whitespace becomes a space, references are kept.
        el.attrs[an[0]] = decode(raw.replace(/[\t\n\r]/g, ' '), i);
        i = end + 1;
      }
      const parent = stack[stack.length - (stack[stack.length - 1] === el ? 2 : 1)];
      if (parent) parent.children.push(el);
      else if (root) throw new Error('more than one root element');
      else root = el;
    } else {
      const end = xml.indexOf('<', i);
      const raw = xml.slice(i, end < 0 ? xml.length : end);
      if (raw.includes(']]>')) throw new Error(']]> in text');
      const top = stack[stack.length - 1];
      if (!top) {
        if (raw.trim()) throw new Error(`text outside the root element at ${i}`);
      } else top.text += decode(raw, i);
      i = end < 0 ? xml.length : end;
    }
  }
  if (stack.length) throw new Error(`unclosed <${stack[stack.length - 1]!.name}>`);
  if (!root) throw new Error('no root element');
  return root;
}

export function findAll(el: XmlElement, name: string): XmlElement[] {
  return [...(el.name === name ? [el] : []), ...el.children.flatMap((c) => findAll(c, name))];
}
