// The controller's reading of ARM failures, row by row against Azure's documented responses: quota
// (400 ContainerGroupQuotaReached) waits, capacity (409 ServiceUnavailable) is retried then fails,
// throttling (429) carries the wait ARM asked for, RBAC refusals fail naming the missing action.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classifyArmError, retryAfterSeconds } from '../../orchestration/src/azure/arm-errors';

const rest = (statusCode: number | undefined, code: string | undefined, message = 'm', headers = {}) =>
  Object.assign(new Error(message), { statusCode, code, response: { headers } });

/** @azure/core-rest-pipeline's HttpHeaders shape: a get() that is case-insensitive. */
const sdkHeaders = (h: Record<string, string>) => ({
  get: (n: string) => Object.entries(h).find(([k]) => k.toLowerCase() === n.toLowerCase())?.[1],
});

describe('classifyArmError: Azure contract table', () => {
  test('each documented ARM/ACI failure maps to its handling', () => {
    const cases: Array<[string, unknown, string, boolean]> = [
      [
        // Recorded response (quoted in MicrosoftDocs/SupportArticles-docs, azure-container-instances
        // "ContainerGroupQuotaReached" article; status 400 in a Terraform log of the same error).
        'quota: 400 ContainerGroupQuotaReached',
        rest(
          400,
          'ContainerGroupQuotaReached',
          "Resource type 'Microsoft.ContainerInstance/containerGroups' container group quota 'StandardCores' exceeded in region 'westeurope'. Limit: '10', Usage: '10' Requested: '1'.",
        ),
        'QuotaExceeded',
        true,
      ],
      [
        // azure-compute-docs container-instances-troubleshooting.md, "Resource not available".
        'capacity: 409 ServiceUnavailable',
        rest(
          409,
          'ServiceUnavailable',
          "The requested resource is not available in the location 'westeurope' at this moment. Please retry with a different resource request or in another location. Resource requested: '4' CPU '32' GB memory 'Linux' OS",
        ),
        'CapacityUnavailable',
        true,
      ],
      ['throttled: 429', rest(429, 'SubscriptionRequestsThrottled'), 'ArmThrottled', true],
      ['ACI create rate: 429', rest(429, 'TooManyRequests'), 'ArmThrottled', true],
      ['5xx', rest(503, undefined), 'TransientError', true],
      ['network', rest(undefined, 'ECONNRESET'), 'TransientError', true],
      ['transitioning', rest(409, 'ContainerGroupTransitioning'), 'TransientError', true],
      ['image', rest(400, 'InaccessibleImage'), 'ImageNotFound', false],
      ['bad request', rest(400, 'InvalidRequestContent'), 'ArmError', false],
      ['immutable property', rest(400, 'InvalidContainerGroupUpdate'), 'ArmError', false],
      ['rbac', rest(403, 'AuthorizationFailed'), 'ArmError', false],
      ['linked rbac', rest(403, 'LinkedAuthorizationFailed'), 'ArmError', false],
      [
        'capacity in an LRO',
        new Error('The long-running operation has failed. ServiceUnavailable. not available in the location'),
        'CapacityUnavailable',
        true,
      ],
      [
        'quota in an LRO',
        new Error(
          "The long-running operation has failed. ContainerGroupQuotaReached. container group quota 'StandardCores' exceeded",
        ),
        'QuotaExceeded',
        true,
      ],
      [
        'other LRO failure',
        new Error('The long-running operation has failed. InternalServerError. boom'),
        'ProvisioningFailed',
        false,
      ],
    ];
    for (const [name, err, code, retryable] of cases) {
      const c = classifyArmError(err, 'op');
      assert.equal(c.code, code, name);
      assert.equal(c.retryable, retryable, name);
    }
  });

  test('an RBAC refusal fails with ARM message naming the missing action', () => {
    const msg =
      "The client 'c' with object id 'c' does not have authorization to perform action 'Microsoft.ContainerInstance/containerGroups/write' over scope '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups/g' or the scope is invalid.";
    const c = classifyArmError(rest(403, 'AuthorizationFailed', msg), 'create group');
    assert.match(c.message, /Microsoft\.ContainerInstance\/containerGroups\/write/);
  });

  test('429 keeps the wait ARM asked for (seconds, HTTP date, milliseconds)', () => {
    // learn.microsoft.com azure-resource-manager/management/request-limits-and-throttling: "Retry-After".
    const secs = classifyArmError(rest(429, 'TooManyRequests', 'm', sdkHeaders({ 'Retry-After': '17' })), 'create');
    assert.match(secs.message, /retry after 17 s/);
    assert.deepEqual(secs.headers, { 'Retry-After': '17' });
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(retryAfterSeconds(rest(429, 'x', 'm', { 'retry-after': 'Thu, 01 Jan 2026 00:00:30 GMT' }), now), 30);
    assert.equal(retryAfterSeconds(rest(429, 'x', 'm', sdkHeaders({ 'x-ms-retry-after-ms': '2500' }))), 3);
    const none = classifyArmError(rest(429, 'TooManyRequests'), 'create');
    assert.equal(none.headers, undefined);
    assert.doesNotMatch(none.message, /retry after/);
  });
});
