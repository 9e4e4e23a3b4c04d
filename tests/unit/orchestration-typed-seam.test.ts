// The orchestrator ↔ activity seam is typed end to end: sending the wrong input to an activity,
// reading the wrong output, naming an activity that does not exist, or a handler that returns the
// wrong shape are compile errors. The @ts-expect-error lines below are checked by `npm run
// typecheck` (which fails if any of them stops being an error); the runtime test only checks that
// every activity name has a handler.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACTIVITIES, type ActivityHandlers } from '../../orchestration/src/contracts';
import type { RunContext } from '../../orchestration/src/workflows/run-context';

// Never called: these generators exist for the type checker.
export function* _wrongUses(ctx: RunContext) {
  // @ts-expect-error AcquireSlot takes a SlotRequest, not a GroupRef
  yield* ctx.activity('AcquireSlot', { tenant: 't', jobId: 'j', groupName: 'g' });
  // @ts-expect-error no activity has this name
  yield* ctx.activity('DeleteEverything', {});
  const view = yield* ctx.activity('GetContainerGroup', { tenant: 't', jobId: 'j', groupName: 'g' });
  // @ts-expect-error GetContainerGroup answers a GroupView, which has no `granted`
  void view.granted;
  const slot = yield* ctx.activity('AcquireSlot', {
    tenant: 't',
    instanceId: 'i',
    jobId: 'j',
    cores: 1,
    memoryGb: 1,
    owner: 'h',
    enqueuedAt: 'x',
  });
  // @ts-expect-error a SlotAnswer is not an Outcome
  void slot.ok;
}

export const _wrongHandler: Pick<ActivityHandlers, 'ReleaseSlot'> = {
  // @ts-expect-error ReleaseSlot answers a boolean
  ReleaseSlot: async () => 'released',
};

test('the activity map names exactly the registered activities', () => {
  const names = Object.values(ACTIVITIES).sort();
  assert.equal(new Set(names).size, names.length);
  assert.ok(names.includes('AcquireSlot') && names.includes('NotifyWebhook'));
});
