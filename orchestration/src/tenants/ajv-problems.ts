// Turns Ajv errors into {field, message} pairs whose field is a readable path
// (`tenants[1].limits.maxCpu`, `input.y[3]`), one per problem.
import type { ErrorObject } from 'ajv';
import type { FieldProblem } from '../errors';

export function pointerToField(pointer: string, prefix = ''): string {
  let out = prefix;
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(seg) ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  }
  return out;
}

export function ajvProblems(errors: readonly ErrorObject[] | null | undefined, prefix = ''): FieldProblem[] {
  const out: FieldProblem[] = [];
  const seen = new Set<string>();
  for (const e of errors ?? []) {
    let field = pointerToField(e.instancePath, prefix);
    let message = e.message ?? 'is invalid';
    const p = e.params as Record<string, unknown>;
    switch (e.keyword) {
      case 'required':
        field = joinField(field, String(p.missingProperty));
        message = 'is required';
        break;
      case 'additionalProperties':
        field = joinField(field, String(p.additionalProperty));
        message = 'is not a known field';
        break;
      case 'enum':
        message = `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
        break;
      case 'pattern':
        message = `must match ${String(p.pattern)}`;
        break;
      case 'if':
        continue;
      default:
        break;
    }
    const key = `${field}|${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ field: field || '(body)', message });
  }
  return out;
}

function joinField(base: string, name: string): string {
  return base === '' ? name : `${base}.${name}`;
}
