// ASP.NET-style route templates as used by Azure Functions HTTP triggers:
// literals, {name}, {name?}, {name:constraint}, {name:constraint?}, {*rest} (catch-all, last segment).
// Literal segments match case-insensitively, as in the Functions host.

type Segment =
  | { kind: 'literal'; text: string }
  | { kind: 'param'; name: string; optional: boolean; constraints: string[]; catchAll: boolean };

export interface CompiledRoute<T> {
  template: string;
  segments: Segment[];
  methods: Set<string>; // upper-case; empty = any
  value: T;
  specificity: number;
}

export interface RouteMatch<T> {
  value: T;
  params: Record<string, string>;
}

export function parseTemplate(template: string): Segment[] {
  const trimmed = template.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return [];
  return trimmed.split('/').map((raw, i, all) => {
    const m = /^\{(\*{1,2})?([A-Za-z_][\w]*)((?::[^:{}?]+(?:\([^)]*\))?)*)(\?)?(?:=([^}]*))?\}$/.exec(raw);
    if (!m) {
      if (/[{}]/.test(raw)) throw new Error(`Invalid route template "${template}": segment "${raw}" is not supported.`);
      return { kind: 'literal', text: raw.toLowerCase() };
    }
    const catchAll = Boolean(m[1]);
    if (catchAll && i !== all.length - 1)
      throw new Error(`Invalid route template "${template}": a catch-all parameter must be last.`);
    const constraints = (m[3] ?? '').split(':').filter((c) => c.length > 0);
    return {
      kind: 'param',
      name: m[2]!,
      optional: Boolean(m[4]) || catchAll || m[5] !== undefined,
      constraints,
      catchAll,
    };
  });
}

const guid = /^[{(]?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}[)}]?$/i;

function satisfies(value: string, constraint: string): boolean {
  const m = /^(\w+)(?:\((.*)\))?$/.exec(constraint);
  if (!m) return true;
  const name = m[1]!.toLowerCase();
  const arg = m[2];
  const nums = (arg ?? '').split(',').map((s) => Number(s.trim()));
  switch (name) {
    case 'int':
      return /^-?\d+$/.test(value) && Math.abs(Number(value)) <= 2147483648;
    case 'long':
      return /^-?\d+$/.test(value);
    case 'bool':
      return /^(true|false)$/i.test(value);
    case 'alpha':
      return /^[a-z]+$/i.test(value);
    case 'guid':
      return guid.test(value);
    case 'double':
    case 'float':
    case 'decimal':
      return value.trim() !== '' && Number.isFinite(Number(value));
    case 'datetime':
      return !Number.isNaN(Date.parse(value));
    case 'min':
      return Number(value) >= nums[0]!;
    case 'max':
      return Number(value) <= nums[0]!;
    case 'range':
      return Number(value) >= nums[0]! && Number(value) <= nums[1]!;
    case 'minlength':
      return value.length >= nums[0]!;
    case 'maxlength':
      return value.length <= nums[0]!;
    case 'length':
      return nums.length === 2 ? value.length >= nums[0]! && value.length <= nums[1]! : value.length === nums[0]!;
    case 'regex':
      try {
        return new RegExp(arg ?? '', 'i').test(value);
      } catch {
        return false;
      }
    default:
      return true; // unknown constraints are not enforced locally
  }
}

export class RouteTable<T> {
  readonly routes: CompiledRoute<T>[] = [];

  add(template: string, methods: string[] | undefined, value: T): void {
    const segments = parseTemplate(template);
    // More literal segments first, then more parameters, catch-alls last: "items/new" beats "items/{id}".
    const literals = segments.filter((s) => s.kind === 'literal').length;
    const catchAll = segments.some((s) => s.kind === 'param' && s.catchAll) ? 1 : 0;
    const specificity = literals * 1000 + segments.length * 10 - catchAll * 5;
    this.routes.push({
      template,
      segments,
      methods: new Set((methods ?? []).map((m) => m.toUpperCase())),
      value,
      specificity,
    });
    this.routes.sort((a, b) => b.specificity - a.specificity);
  }

  /** `path` is the part after the route prefix, already split on "/" and percent-decoded per segment. */
  match(method: string, pathSegments: string[]): { found?: RouteMatch<T>; allowed?: string[] } {
    const allowed = new Set<string>();
    for (const route of this.routes) {
      const params = matchSegments(route.segments, pathSegments);
      if (!params) continue;
      if (route.methods.size === 0 || route.methods.has(method.toUpperCase()))
        return { found: { value: route.value, params } };
      for (const m of route.methods) allowed.add(m);
    }
    return allowed.size > 0 ? { allowed: [...allowed].sort() } : {};
  }
}

function matchSegments(segments: Segment[], path: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  let i = 0;
  for (const seg of segments) {
    if (seg.kind === 'literal') {
      if (path[i]?.toLowerCase() !== seg.text) return undefined;
      i++;
      continue;
    }
    if (seg.catchAll) {
      const rest = path.slice(i).join('/');
      if (rest !== '') params[seg.name] = rest;
      i = path.length;
      continue;
    }
    const value = path[i];
    if (value === undefined || value === '') {
      if (!seg.optional) return undefined;
      continue;
    }
    if (!seg.constraints.every((c) => satisfies(value, c))) return undefined;
    params[seg.name] = value;
    i++;
  }
  return i === path.length ? params : undefined;
}

/** Splits a URL path into decoded segments (empty segments from a trailing slash are dropped). */
export function splitPath(pathname: string): string[] {
  return pathname
    .split('/')
    .filter((s) => s.length > 0)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
}
