// The request side of queue priority (issue 13): `priority` as an integer 0..1000 is the job's queue
// priority, while the strings "Regular" / "Spot" keep meaning the capacity type (existing clients);
// `capacity` names the capacity type on its own, so Spot combines with a priority. The ledger entry
// a submit writes carries the priority, and a bad value is a 400 naming the field.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateSubmission } from '../../orchestration/src/api/job-request';
import { handle, type ApiResponse } from '../../orchestration/src/api/http';
import { instanceIdOf } from '../../orchestration/src/contracts';
import { CodedError } from '../../orchestration/src/errors';
import {
  apiHarness,
  auth,
  goodInput,
  LOGIN_SERVER,
  request,
  SIGNING_KEY,
  silentLog,
  tenantsFixture,
} from '../fixtures/tenants/harness';

const alpha = tenantsFixture().get('alpha')!;
const spotty = { ...alpha, allowSpot: true };
const ctx = { acrLoginServer: LOGIN_SERVER, signingKey: SIGNING_KEY, jobId: 'j-aaaaaaaaaaaaaaaaaaaa' };

function problems(fn: () => unknown): Map<string, string> {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof CodedError, String(e));
    assert.equal(e.httpStatus, 400);
    return new Map((e.details ?? []).map((d) => [d.field, d.message]));
  }
  assert.fail('expected a 400');
}

describe('priority in the job request', () => {
  test('an integer is the queue priority; the capacity stays Regular', () => {
    const s = validateSubmission(alpha, { priority: 700, input: goodInput() }, ctx);
    assert.equal(s.queuePriority, 700);
    assert.equal(s.priority, 'Regular');
    assert.equal(s.startMode, undefined);
    assert.equal(validateSubmission(alpha, { input: goodInput() }, ctx).queuePriority, undefined, 'default: 0');
  });

  test('"Spot" / "Regular" still mean the capacity type; capacity says it too and combines with a priority', () => {
    const legacy = validateSubmission(spotty, { priority: 'Spot', input: goodInput() }, ctx);
    assert.equal(legacy.priority, 'Spot');
    assert.equal(legacy.queuePriority, undefined);
    assert.equal(legacy.startMode, 'pull');
    const both = validateSubmission(spotty, { capacity: 'Spot', priority: 3, input: goodInput() }, ctx);
    assert.deepEqual([both.priority, both.queuePriority, both.startMode], ['Spot', 3, 'pull']);
    const same = validateSubmission(spotty, { capacity: 'Spot', priority: 'Spot', input: goodInput() }, ctx);
    assert.equal(same.priority, 'Spot');
  });

  test('out of range, fractional, or contradicting values are a 400 naming the field', () => {
    for (const priority of [-1, 1001, 2.5, 'High']) {
      const p = problems(() => validateSubmission(alpha, { priority, input: goodInput() }, ctx));
      assert.ok(p.has('priority'), `${JSON.stringify(priority)}: ${[...p.keys()].join(', ')}`);
      assert.match(p.get('priority') ?? '', /integer 0\.\.1000.*"Spot"/, 'one problem saying both meanings');
    }
    const clash = problems(() =>
      validateSubmission(spotty, { capacity: 'Regular', priority: 'Spot', input: goodInput() }, ctx),
    );
    assert.match(clash.get('priority') ?? '', /capacity/);
    const notAllowed = problems(() => validateSubmission(alpha, { capacity: 'Spot', input: goodInput() }, ctx));
    assert.match(notAllowed.get('capacity') ?? '', /allowSpot/, 'the Spot grant is named on the field the job used');
  });

  test('the ledger entry a submit writes carries the priority', async () => {
    const h = apiHarness();
    const r: ApiResponse = await handle(silentLog, 'test', () =>
      h.api.submit(
        request({
          method: 'POST',
          params: { tenant: 'alpha' },
          headers: auth('alpha-key'),
          body: { priority: 42, input: goodInput() },
        }),
        h.jobs,
      ),
    )(request({}));
    assert.equal(r.status, 202);
    const id = (r.jsonBody as { id: string }).id;
    const doc = await h.ledger.read();
    const entry = doc.tenants.alpha?.queue.find((e) => e.instanceId === instanceIdOf('alpha', id));
    assert.equal(entry?.priority, 42);
  });
});
