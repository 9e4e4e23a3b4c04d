// Phase 2, resolve: the image's tag becomes a digest, so every attempt runs the same bytes; the
// stored input is confirmed before any group is created.
import type { RunContext, Step } from '../run-context';

export function* resolve(ctx: RunContext): Step<void> {
  const { s, spec } = ctx;
  const r = yield* ctx.activity('ResolveImage', {
    tenant: s.input.tenant,
    repository: spec.image.repository,
    ...(spec.image.tag ? { tag: spec.image.tag } : {}),
    ...(spec.image.digest ? { digest: spec.image.digest } : {}),
    ...(spec.inputBlob ? { inputBlob: spec.inputBlob } : {}),
    ...(spec.policy ? { policy: spec.policy } : {}),
  });
  if (!r.ok) return ctx.fail(r.error);
  s.imageRef = r.value.imageRef;
  s.status.image.digest = r.value.digest;
  s.phase = 'creating';
}
